"""What a lower pose frame rate costs in accuracy: test clips kept on every n-th frame only,
filled back to every frame as ``tools/demo.py`` does (``mdn/pose/resample.py``), then tested.

    python tools/analysis/pose_rate_cost.py CONFIG CHECKPOINT [--strides 1 2 3 4 6]
        [--fps 30] [--batch-size 64] [--out RESULT.json]

Prints one row per stride: the pose rate (``--fps`` / stride), top-1 and the change against
stride 1. Every stride sees the same clips, the same checkpoint and the config's own test
pipeline, so the difference is the pose rate alone.
"""
import argparse
import json
import os.path as osp
import sys
from typing import Dict, List, Sequence

import numpy as np
from tqdm import tqdm

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mdn.apis.inference import _predict, init_recognizer  # noqa: E402
from mdn.pose.resample import fill_strided  # noqa: E402
from mdn.utils.io import atomic_write  # noqa: E402


def test_clips(model) -> List[dict]:
    """The raw clips (before the pipeline) of the config's test dataset."""
    from mmengine.registry import DefaultScope

    from mdn.registry import DATASETS
    cfg = model.cfg.test_dataloader.dataset.copy()
    cfg['pipeline'] = []
    with DefaultScope.overwrite_default_scope('mdn'):
        dataset = DATASETS.build(cfg)
    return [dataset.get_data_info(i) for i in range(len(dataset))]


def subsample(clip: dict, stride: int) -> dict:
    """``clip`` as if poses were found on every ``stride``-th frame only."""
    keypoint, score = clip['keypoint'], clip['keypoint_score']
    total = keypoint.shape[1]
    filled = fill_strided(keypoint[:, ::stride], score[:, ::stride], stride, total)
    return dict(clip, keypoint=filled[0], keypoint_score=filled[1])


def top1(model, clips: Sequence[dict], stride: int, batch_size: int) -> float:
    correct = 0
    for first in tqdm(range(0, len(clips), batch_size), desc=f'stride {stride}', leave=False):
        inputs, samples, labels = [], [], []
        for clip in clips[first:first + batch_size]:
            packed = model.test_pipeline(subsample(dict(clip), stride))
            inputs.append(packed['inputs'])
            samples.append(packed['data_samples'])
            labels.append(int(clip['label']))
        scores, _ = _predict(model, dict(inputs=inputs, data_samples=samples))
        correct += int((scores.argmax(-1) == np.array(labels)).sum())
    return correct / max(len(clips), 1)


def main(argv=None) -> Dict[str, object]:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('--strides', type=int, nargs='+', default=[1, 2, 3, 4, 6])
    p.add_argument('--fps', type=float, default=30.0, help="the dataset's frame rate")
    p.add_argument('--batch-size', type=int, default=64)
    p.add_argument('--out', help='also write the rows as JSON')
    args = p.parse_args(argv)
    if any(s < 1 for s in args.strides):
        p.error('--strides must be >= 1')
    model = init_recognizer(args.config, args.checkpoint)
    clips = test_clips(model)
    rows = []
    for stride in args.strides:
        rows.append(dict(stride=stride, pose_fps=round(args.fps / stride, 2),
                         top1=round(top1(model, clips, stride, args.batch_size), 4)))
    base = next((r['top1'] for r in rows if r['stride'] == 1), rows[0]['top1'])
    print(f'{osp.basename(args.config)}: {len(clips)} test clips')
    print('| stride | pose fps | top-1 | change (points) |\n|---|---|---|---|')
    for row in rows:
        row['change'] = round(100 * (row['top1'] - base), 2)
        print(f'| {row["stride"]} | {row["pose_fps"]:g} | {row["top1"]:.4f} | '
              f'{row["change"]:+.2f} |')
    result = dict(config=args.config, checkpoint=args.checkpoint, clips=len(clips), rows=rows)
    if args.out:
        with atomic_write(args.out, 'w') as f:
            json.dump(result, f, indent=1)
    return result


if __name__ == '__main__':
    main()
