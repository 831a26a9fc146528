"""tools/analysis/accuracy_suite.py: seeds, resumable records and mean +- std by hand."""
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'tools' / 'analysis'))
import accuracy_suite  # noqa: E402


def _record(config, top1, seed=None, minutes=2.0):
    return dict(config=config, seed=seed, checkpoint='x.pth', train_minutes=minutes,
                metrics={'acc/top1': top1, 'acc/top5': 1.0, 'acc/mean_class_accuracy': top1})


def test_summary_is_mean_and_sample_std_per_config():
    rows = accuracy_suite.summarise([
        _record('a.py', 0.80, 0), _record('b.py', 0.5, 0), _record('a.py', 0.90, 1),
        _record('a.py', 0.85, 2, minutes=5.0)])
    assert [r['config'] for r in rows] == ['a.py', 'b.py']
    a, b = rows
    assert a['runs'] == 3 and a['acc/top1'] == pytest.approx(0.85)
    # sample std of 0.80, 0.90, 0.85: sqrt((0.05^2 + 0.05^2 + 0) / 2) = 0.05
    assert a['acc/top1_std'] == pytest.approx(0.05)
    assert a['train_minutes'] == pytest.approx(3.0)
    assert b['runs'] == 1 and b['acc/top1_std'] == 0.0
    table = accuracy_suite.format_table(rows)
    assert '| a.py | 3 | 0.8500 +- 0.0500 |' in table
    assert '| b.py | 1 | 0.5000 | 1.0000 | 0.5000 | 2.0 |' in table


def test_seeded_runs_live_in_their_own_work_dirs_and_finished_ones_are_reused(
        tmp_path, capsys):
    # finished runs (test.json present) are read back instead of retrained
    for seed, top1 in ((0, 0.7), (1, 0.9)):
        work = tmp_path / f'my_cfg_seed{seed}'
        work.mkdir()
        (work / 'test.json').write_text(json.dumps(_record('configs/my_cfg.py', top1, seed)))
    out = tmp_path / 'suite.json'
    accuracy_suite.main(['configs/my_cfg.py', '--work-root', str(tmp_path), '--seeds', '0', '1',
                         '--out-json', str(out)])
    assert '| my_cfg.py | 2 | 0.8000 +- 0.1414 |' in capsys.readouterr().out
    saved = json.loads(out.read_text())
    assert [r['seed'] for r in saved['runs']] == [0, 1]
    assert saved['summary'][0]['acc/top1'] == pytest.approx(0.8)
