"""Write the MA-52 test-server submission from a ``tools/test.py --dump`` file.

    python tools/analysis/ma52_submission.py DUMP.pkl --out prediction.csv [--zip]

CSV columns (Codabench MA-52 format): ``vid, action_pred_1..5, body_pred_1..5``, top-5 action
labels then top-5 body labels, most confident first. Body predictions come from the body
scores (sum of action probabilities per body group, ``--body-from sum``) or, as in the
challenge starter kit, from the body group of each top-5 action (``--body-from actions``).
``--zip`` also writes ``prediction.zip`` holding ``prediction.csv``, ready to upload.
"""
import argparse
import csv
import io
import os.path as osp
import sys
import zipfile

import numpy as np

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mdn.evaluation.functional import coarse_scores, ma52_fine_to_coarse  # noqa: E402
from mdn.utils.io import atomic_write  # noqa: E402
from mdn.utils.safe_pickle import safe_pickle_load  # noqa: E402


def submission_rows(predictions: list, body_from: str = 'sum') -> list:
    mapping = ma52_fine_to_coarse()
    scores = np.stack([p['pred_score'] for p in predictions])
    if scores.shape[1] != 52:
        raise ValueError(f'MA-52 submission needs 52 action scores per clip, got '
                         f'{scores.shape[1]}')
    top_actions = np.argsort(-scores, axis=1, kind='stable')[:, :5]
    if body_from == 'sum':
        top_body = np.argsort(-coarse_scores(scores, mapping), axis=1, kind='stable')[:, :5]
    elif body_from == 'actions':
        top_body = mapping[top_actions]
    else:
        raise ValueError(f'body_from must be sum or actions, got {body_from!r}')
    rows = []
    for p, actions, bodies in zip(predictions, top_actions, top_body):
        vid = p.get('frame_dir') or ''
        vid = vid if vid.endswith('.mp4') else f'{vid}.mp4'
        rows.append([vid, *map(int, actions), *map(int, bodies)])
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('dump', help='file written by tools/test.py --dump')
    parser.add_argument('--out', default='prediction.csv')
    parser.add_argument('--body-from', choices=['sum', 'actions'], default='sum')
    parser.add_argument('--zip', action='store_true', help='also write prediction.zip')
    args = parser.parse_args(argv)
    content = safe_pickle_load(args.dump)
    rows = submission_rows(content['predictions'], args.body_from)
    header = (['vid'] + [f'action_pred_{i}' for i in range(1, 6)] +
              [f'body_pred_{i}' for i in range(1, 6)])
    text = io.StringIO()
    writer = csv.writer(text, lineterminator='\n')
    writer.writerow(header)
    writer.writerows(rows)
    with atomic_write(args.out, 'w') as f:
        f.write(text.getvalue())
    if args.zip:
        zip_path = osp.join(osp.dirname(osp.abspath(args.out)), 'prediction.zip')
        with atomic_write(zip_path) as f, zipfile.ZipFile(f, 'w') as archive:
            archive.writestr('prediction.csv', text.getvalue())
    print(f'wrote {len(rows)} clips to {args.out}')


if __name__ == '__main__':
    main()
