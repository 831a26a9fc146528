"""Pictures: entity-coloured skeleton overlays, the timeline chart, and the dump analysis
(confusion matrix, per-class accuracy, routing heat map) with the numbers behind them."""
import json
import pickle
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from mdn.apis.timeline import WindowScores, merge_windows
from mdn.layouts import get_layout
from mdn.visualization import (ENTITY_RGB, SkeletonPainter, keypoint_colors, plot_timeline,
                               write_skeleton_video)

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / 'tools' / 'analysis'))
import analyze_dump  # noqa: E402

BODY6 = ('face', 'head', 'torso', 'left_hand', 'right_hand', 'lower_body')


def decode_png(path: Path) -> np.ndarray:
    image = cv2.imread(str(path))
    assert image is not None, path
    assert path.stat().st_size < 200_000, (path, path.stat().st_size)
    return image


def standing_person(num_frames=12, seed=0):
    """COCO-WholeBody keypoints spread over a 400 x 300 px box, slowly drifting."""
    rng = np.random.default_rng(seed)
    base = rng.uniform([100, 50], [400, 350], (133, 2)).astype(np.float32)
    drift = np.linspace(0, 20, num_frames, dtype=np.float32)[:, None, None]
    return (base[None] + drift)[None], np.ones((1, num_frames, 133), np.float32)


def test_keypoints_take_their_entity_colour():
    colors = keypoint_colors('coco_wholebody_133', BODY6)
    layout = get_layout('coco_wholebody_133')
    left_finger = layout.entities['left_hand'][-1]
    assert tuple(colors[left_finger]) == ENTITY_RGB['left_hand'][::-1]  # BGR
    assert tuple(colors[30]) == ENTITY_RGB['face'][::-1]
    partial = keypoint_colors('coco_wholebody_133', BODY6[:5])  # body5: legs stay grey
    assert len({tuple(c) for c in partial[list(layout.entities['lower_body'])]}) <= 2


def test_painter_draws_entities_caption_and_video(tmp_path):
    kp, score = standing_person()
    painter = SkeletonPainter(kp, score, 'coco_wholebody_133', BODY6, max_side=320)
    assert painter.size[0] % 2 == 0 and max(painter.size) <= 320
    image = painter.draw(0, caption='1.0 s  nod_head (0.91)')
    assert image.shape == (painter.size[1], painter.size[0], 3)
    hand = np.array(ENTITY_RGB['right_hand'][::-1])
    assert (np.abs(image.astype(int) - hand).sum(-1) < 10).sum() > 20  # pink hand points
    assert (image[:20, :80] < 100).all(-1).any()  # the dark caption box, top left
    frames = [np.full((480, 640, 3), 90, np.uint8)] * 12
    on_video = SkeletonPainter(kp, score, 'coco_wholebody_133', BODY6, img_shape=(480, 640))
    assert on_video.size == (640, 480)
    path = write_skeleton_video(str(tmp_path / 'overlay.mp4'), on_video, range(12), 10.0,
                                [f'{t}' for t in range(12)], frames)
    capture = cv2.VideoCapture(path)
    count = 0
    while capture.read()[0]:
        count += 1
    assert count == 12 and not list(tmp_path.glob('.*'))
    with pytest.raises(ValueError, match='no frames'):
        write_skeleton_video(str(tmp_path / 'empty.mp4'), painter, [], 10.0, [])
    assert not list(tmp_path.glob('*empty*'))


def test_timeline_chart(tmp_path):
    labels = np.array([0, 1, 1, 1, 0, 2, 2, 0, 1, 1, 0, 0])
    scores = np.full((12, 3), 0.05)
    scores[np.arange(12), labels] = 0.9
    scores[4] = np.nan  # nobody there
    bounds = np.stack([np.arange(12) * 5, np.arange(12) * 5 + 20], 1)
    windows = WindowScores(bounds, scores, np.full((12, 5, 2), 0.5), 10.0, 75,
                           class_names=('none', 'scratch', 'nod'))
    segments = merge_windows(bounds, scores, 75, 10.0, 0.5, 0.0, 0.0, [0], windows.class_names)
    path = plot_timeline(str(tmp_path / 'timeline.png'), windows, segments, 0.5,
                         reference=segments[:1])
    assert decode_png(Path(path)).shape[1] == 1000


def fake_dump(path: Path, labelled=True, weights=True):
    """12 clips of 3 classes; class c's clips have ST weight 0.1 + 0.4 c on every entity
    except the last, which is 0.9; two clips of class 2 are predicted as class 1."""
    preds = []
    for i in range(12):
        label = i % 3
        score = np.full(3, 0.1, np.float32)
        score[1 if (label == 2 and i < 6) else label] = 0.8
        st = np.full(4, 0.1 + 0.4 * label, np.float32)
        st[-1] = 0.9
        preds.append(dict(frame_dir=f'clip{i}', gt_label=label if labelled else -1,
                          pred_score=score,
                          entity_weights=np.stack([st, 1 - st], -1) if weights else None))
    path.write_bytes(pickle.dumps(dict(entity_names=('face', 'head', 'torso', 'left_hand'),
                                       predictions=preds)))
    return str(path)


def test_analyze_dump_numbers_and_pictures(tmp_path):
    dump = fake_dump(tmp_path / 'dump.pkl')
    out = tmp_path / 'analysis'
    result = analyze_dump.main([dump, '--out', str(out), '--classes', 'still,nod,wave',
                                '--group', 'moving=nod,wave'])
    assert result['top1'] == pytest.approx(10 / 12)
    assert result['confusion_matrix'][2] == [0, 2, 2]
    assert result['per_class_accuracy'] == [1.0, 1.0, 0.5]
    routing = result['routing']
    assert routing['rows'] == ['all', '[moving]', 'still', 'nod', 'wave']
    assert routing['counts'] == [12, 8, 4, 4, 4]
    st = np.array(routing['st_weight'])
    assert st[2:, 0] == pytest.approx([0.1, 0.5, 0.9]) and st[:, 3] == pytest.approx(0.9)
    assert st[1, 0] == pytest.approx(0.7) and st[0, 0] == pytest.approx(0.5)
    saved = json.loads((out / 'analysis.json').read_text())
    assert saved['routing']['rows'] == routing['rows']
    for name in ('confusion_matrix', 'per_class_accuracy', 'routing_heatmap'):
        decode_png(out / f'{name}.png')


def test_analyze_dump_without_labels_or_weights(tmp_path):
    unlabelled = analyze_dump.main([fake_dump(tmp_path / 'u.pkl', labelled=False), '--out',
                                    str(tmp_path / 'u')])
    assert 'top1' not in unlabelled and unlabelled['routing']['grouped_by'] == 'predicted label'
    assert unlabelled['classes'] == ['class_0', 'class_1', 'class_2']
    gcn = analyze_dump.main([fake_dump(tmp_path / 'g.pkl', weights=False), '--out',
                             str(tmp_path / 'g')])
    assert 'routing' not in gcn and not (tmp_path / 'g' / 'routing_heatmap.png').exists()
    with pytest.raises(ValueError, match='2 class names for 3 scores'):
        analyze_dump.main([fake_dump(tmp_path / 'x.pkl'), '--out', str(tmp_path / 'x'),
                           '--classes', 'a,b'])
    with pytest.raises(ValueError, match='unknown classes'):
        analyze_dump.main([fake_dump(tmp_path / 'y.pkl'), '--out', str(tmp_path / 'y'),
                           '--group', 'g=a,zz'])
    (tmp_path / 'bad.pkl').write_bytes(pickle.dumps([1, 2]))
    with pytest.raises(ValueError, match='not a tools/test.py --dump file'):
        analyze_dump.main([str(tmp_path / 'bad.pkl'), '--out', str(tmp_path / 'z')])


def test_analyze_dump_classes_from_a_config(tmp_path):
    preds = [dict(frame_dir='c', gt_label=i, pred_score=np.eye(8, dtype=np.float32)[i],
                  entity_weights=np.full((6, 2), 0.5, np.float32)) for i in range(8)]
    (tmp_path / 'd.pkl').write_bytes(pickle.dumps(dict(entity_names=BODY6, predictions=preds)))
    result = analyze_dump.main([str(tmp_path / 'd.pkl'), '--out', str(tmp_path / 'o'),
                                '--classes', str(REPO / 'configs/micro_dualnet/mdn_synthetic.py')])
    assert result['classes'][0] == 'cover_face' and result['top1'] == 1.0
