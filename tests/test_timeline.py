"""Window -> segment merging on hand-made window scores (pure numpy, no model)."""
import numpy as np
import pytest

from mdn.apis.timeline import (NO_ACTION, WindowScores, merge_windows, per_minute_note,
                               summarize, window_bounds, window_cells, window_decisions)

FPS = 10.0
NAMES = ('none', 'scratch', 'nod')


def one_hot_windows(labels, score=0.9, num_classes=3):
    """Window scores whose top class is ``labels[w]`` with probability ``score``."""
    scores = np.full((len(labels), num_classes), (1 - score) / (num_classes - 1))
    scores[np.arange(len(labels)), labels] = score
    return scores


def test_window_bounds_cover_the_recording():
    b = window_bounds(100, FPS, window_s=2.0, stride_s=0.5)
    assert b[0].tolist() == [0, 20] and (b[:, 1] - b[:, 0] == 20).all()
    assert np.diff(b[:, 0])[:-1].tolist() == [5] * (len(b) - 2)
    assert b[-1, 1] == 100  # the tail is covered
    b = window_bounds(103, FPS, 2.0, 0.5)
    assert b[-1].tolist() == [83, 103] and b[-2].tolist() == [80, 100]
    assert window_bounds(7, FPS, 2.0, 0.5).tolist() == [[0, 7]]  # shorter than one window
    with pytest.raises(ValueError, match='stride'):
        window_bounds(100, FPS, 2.0, 0.0)
    with pytest.raises(ValueError, match='at least one frame'):
        window_bounds(0, FPS, 2.0, 0.5)


def test_decisions_reject_low_scores_background_and_missing_person():
    scores = one_hot_windows([1, 2, 0, 1])
    scores[3] = [0.3, 0.4, 0.3]  # top score below threshold
    scores = np.vstack([scores, np.full(3, np.nan)])  # no person
    labels, top = window_decisions(scores, threshold=0.5, background=[0])
    assert labels.tolist() == [1, 2, NO_ACTION, NO_ACTION, NO_ACTION]
    assert top[:2] == pytest.approx([0.9, 0.9]) and top[4] == 0


def test_cells_split_time_between_window_centres():
    bounds = window_bounds(40, FPS, 2.0, 0.5)  # starts 0, 5, 10, 15, 20
    cells = window_cells(bounds, 40)
    assert cells[0, 0] == 0 and cells[-1, 1] == 40
    assert (cells[1:, 0] == cells[:-1, 1]).all()  # contiguous, no overlap
    assert cells[1].tolist() == [13, 18]  # centres 10, 15, 20 -> cuts at 12.5 and 17.5


def test_merge_runs_into_segments_with_scores():
    # 3 s of nothing, 2 s of 'scratch', 1 s nothing, 2 s 'nod' (stride 0.5 s).
    labels = [0] * 6 + [1] * 4 + [0] * 2 + [2] * 4 + [0] * 3
    bounds = np.stack([np.arange(len(labels)) * 5, np.arange(len(labels)) * 5 + 20], 1)
    num_frames = int(bounds[-1, 1])
    segs = merge_windows(bounds, one_hot_windows(labels), num_frames, FPS, threshold=0.5,
                         min_duration_s=0.5, max_gap_s=0.0, background=[0], class_names=NAMES)
    assert [s.label_name for s in segs] == ['scratch', 'nod']
    scratch, nod = segs
    assert scratch.duration == pytest.approx(2.0) and nod.duration == pytest.approx(2.0)
    # window w is centred at 5w + 10 frames: windows 6-9 -> frames 38..58 (cuts at x.5 -> ceil)
    assert (scratch.start_frame, scratch.end_frame) == (38, 58)
    assert scratch.start == pytest.approx(3.8) and scratch.score == pytest.approx(0.9)
    assert scratch.to_dict()['label'] == 1


def test_gaps_are_bridged_and_short_blips_dropped():
    labels = [1, 1, 1, 0, 1, 1, 0, 0, 0, 0, 2, 0, 0]
    bounds = np.stack([np.arange(13) * 5, np.arange(13) * 5 + 20], 1)
    args = dict(num_frames=80, fps=FPS, threshold=0.5, background=[0], class_names=NAMES)
    joined = merge_windows(bounds, one_hot_windows(labels), min_duration_s=1.0, max_gap_s=0.5,
                           **args)
    assert [(s.label_name, s.start_frame) for s in joined] == [('scratch', 0)]  # nod: 0.5 s
    assert joined[0].end_frame == 38  # cells [0, 23) + 0.5 s gap + [28, 38)
    assert joined[0].score == pytest.approx(0.9 * 33 / 38, abs=1e-4)  # the gap scores 0
    kept_apart = merge_windows(bounds, one_hot_windows(labels), min_duration_s=0.0,
                               max_gap_s=0.0, **args)
    assert [s.label_name for s in kept_apart] == ['scratch', 'scratch', 'nod']


def test_threshold_and_unsorted_windows():
    labels = [1, 1, 1, 1]
    scores = one_hot_windows(labels, score=0.6)
    bounds = np.stack([np.arange(4) * 5, np.arange(4) * 5 + 20], 1)
    assert merge_windows(bounds, scores, 35, FPS, threshold=0.7) == []
    order = [2, 0, 3, 1]
    segs = merge_windows(bounds[order], scores[order], 35, FPS, threshold=0.5)
    assert len(segs) == 1 and (segs[0].start_frame, segs[0].end_frame) == (0, 35)
    assert segs[0].label_name == 'class_1'  # no names given
    with pytest.raises(ValueError, match='score rows'):
        merge_windows(bounds, scores[:2], 35, FPS)


def test_window_scores_and_summary():
    labels = [0, 1, 1, 1, 0, 0, 1, 1, 1, 0]
    bounds = np.stack([np.arange(10) * 5, np.arange(10) * 5 + 20], 1)
    ws = WindowScores(bounds, one_hot_windows(labels), np.zeros((10, 5, 2)), FPS, 65,
                      class_names=NAMES)
    segs = ws.segments(threshold=0.5, min_duration_s=0.5, max_gap_s=0.0, background=[0])
    assert len(segs) == 2 and ws.valid.all()
    rows = {r['label']: r for r in summarize(segs, duration_s=6.5, class_names=NAMES[1:])}
    assert rows['scratch']['count'] == 2 and rows['nod']['count'] == 0
    assert rows['scratch']['per_minute'] is None  # 6.5 s: no rate extrapolated to a minute
    assert '6.5 s long' in per_minute_note(6.5) and per_minute_note(60.0) is None
    long = {r['label']: r for r in summarize(segs, duration_s=90.0, class_names=NAMES[1:])}
    assert long['scratch']['per_minute'] == pytest.approx(2 / 1.5, abs=1e-3)
    assert long['nod']['per_minute'] == 0.0
    assert rows['scratch']['total_s'] == pytest.approx(sum(s.duration for s in segs))
    assert rows['scratch']['mean_score'] == pytest.approx(0.9)
