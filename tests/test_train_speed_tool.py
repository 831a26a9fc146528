"""tools/analysis/train_speed.py: clips/s from MMEngine's scalars.json, checked by hand."""
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'tools' / 'analysis'))
import train_speed  # noqa: E402


def _work_dir(root: Path, times, data_times, batch_size=8, stamp='20260101_000000'):
    run = root / stamp / 'vis_data'
    run.mkdir(parents=True)
    lines = [json.dumps(dict(lr=1e-3, time=t, data_time=d, loss=1.0, epoch=1, iter=i))
             for i, (t, d) in enumerate(zip(times, data_times))]
    lines.append(json.dumps({'acc/top1': 0.5, 'data_time': 0.9, 'time': 9.0, 'step': 1}))
    (run / 'scalars.json').write_text('\n'.join(lines) + '\n')
    (root / 'cfg.py').write_text(f'filename = "x.py"\ntrain_dataloader = dict('
                                 f'batch_size={batch_size})\n')
    return root


def test_median_after_warmup_gives_clips_per_second(tmp_path):
    # warm-up records 5.0 and 4.0 are skipped; median of 0.5, 0.4, 0.6 is 0.5 s/iter;
    # median data time 0.1 -> compute 0.4 s/iter; val record (no lr) ignored
    work = _work_dir(tmp_path / 'run', [5.0, 4.0, 0.5, 0.4, 0.6], [1.0, 1.0, 0.1, 0.1, 0.2])
    result = train_speed.train_speed(str(work), skip=2, processes=2)
    assert result['records'] == 3 and result['batch_size'] == 8
    assert result['iter_s'] == pytest.approx(0.5)
    assert result['clips_per_s'] == pytest.approx(8 * 2 / 0.5)
    assert result['compute_clips_per_s'] == pytest.approx(8 * 2 / 0.4)


def test_newest_run_with_training_records_wins(tmp_path):
    work = _work_dir(tmp_path / 'run', [1.0, 1.0, 1.0], [0.0, 0.0, 0.0])
    newer = work / '20270101_000000' / 'vis_data'
    newer.mkdir(parents=True)  # a later test run: metrics only
    (newer / 'scalars.json').write_text(json.dumps({'acc/top1': 1.0, 'step': 1}) + '\n')
    path, records = train_speed.newest_training_log(str(work))
    assert '20260101_000000' in path and len(records) == 3


def test_cli_table_and_json(tmp_path, capsys):
    work = _work_dir(tmp_path / 'run', [2.0, 0.25, 0.25], [0.0, 0.05, 0.05], batch_size=4)
    out = tmp_path / 'speed.json'
    train_speed.main([str(work), '--skip', '1', '--out-json', str(out)])
    assert '| 16.0 |' in capsys.readouterr().out  # 4 clips / 0.25 s
    assert json.loads(out.read_text())[0]['clips_per_s'] == pytest.approx(16.0)


def test_missing_or_bad_logs_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='no <timestamp>/vis_data/scalars.json'):
        train_speed.train_speed(str(tmp_path))
    run = tmp_path / 'w' / '20260101_000000' / 'vis_data'
    run.mkdir(parents=True)
    (run / 'scalars.json').write_text('{"lr": 1, "time": 1, "data_time": 0}\nnot json\n')
    with pytest.raises(ValueError, match=r'scalars.json:2: not a JSON record'):
        train_speed.train_speed(str(tmp_path / 'w'), batch_size=2)
    with pytest.raises(ValueError, match='no training records left after skipping 5'):
        _work_dir(tmp_path / 'v', [1.0], [0.0])
        train_speed.train_speed(str(tmp_path / 'v'), skip=5)
