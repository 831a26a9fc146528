"""Cohort report (mdn/apis/cohort.py, tools/cohort.py): inputs, hand-computed tables, resume
without recomputation (also after a real kill), skipped recordings, the self-contained report,
and real MA-52 clips through worker processes."""
import base64
import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from mdn.apis import cohort as cohort_api
from mdn.apis.cohort import Recording, cohort_table, group_table, read_cohort

from .conftest import require_shared
from .pose.video_fixtures import MA52_DEMO
from .test_live import TINY_MODEL, tiny_checkpoint
from .test_tools import SYNTHETIC

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / 'tools'))
import cohort as cohort_tool  # noqa: E402

pytestmark = pytest.mark.usefixtures('one_torch_thread')
FAST = ['--window', '1.0', '--stride', '0.5', '--threshold', '0.0', '--min-duration', '0.2',
        '--overlay', 'none', '--threads', '1', '--no-progress', '--cfg-options', *TINY_MODEL]


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory) -> str:
    return tiny_checkpoint(tmp_path_factory.mktemp('cohort_ckpt') / 'tiny.pth')


def read_rows(path):
    with open(path, newline='') as f:
        return list(csv.DictReader(f))


def write_skeleton(path: Path, seconds: float, seed: int = 0) -> Path:
    """A synthetic recording as an .npz skeleton (T,133,3) at 30 fps: no pose stage needed."""
    from mdn.datasets import SyntheticMicroActionDataset
    data = SyntheticMicroActionDataset(num_per_class=1, split='test', seed=seed)
    frames, parts, i = int(seconds * 30), [], 0
    while sum(p.shape[0] for p in parts) < frames:
        clip = data.get_data_info(i % 8)
        parts.append(np.concatenate([clip['keypoint'][0], clip['keypoint_score'][0][..., None]],
                                    -1))
        i += 1
    np.savez_compressed(path, keypoints=np.concatenate(parts)[:frames].astype(np.float32),
                        fps=np.float32(30.0))
    return path


# --------------------------------------------------------------------------- inputs
def test_read_cohort_from_csv_and_folder_with_clear_errors(tmp_path):
    (tmp_path / 'v').mkdir()
    table = tmp_path / 'study.csv'
    table.write_text('path,subject,group,age\nv/a.mp4,s1,control,30\n\n'
                     '/abs/b.npz,s2,patient,41\n')
    recs = read_cohort(str(table))
    assert recs == [Recording('a', str(tmp_path / 'v' / 'a.mp4'), 's1', 'control',
                              (('age', '30'),)),
                    Recording('b', '/abs/b.npz', 's2', 'patient', (('age', '41'),))]
    bad = tmp_path / 'bad.csv'
    bad.write_text('file,subject\nx.mp4,s1\n')
    with pytest.raises(ValueError, match=r"bad.csv: missing column\(s\) \['path', 'group'\]"):
        read_cohort(str(bad))
    bad.write_text('path,subject,group\nx.mp4,,g\n')
    with pytest.raises(ValueError, match=r"bad.csv:2: empty \['subject'\]"):
        read_cohort(str(bad))
    bad.write_text('path,subject,group\nx/a.mp4,s1,g\ny/a.mp4,s2,g\n')
    with pytest.raises(ValueError, match=r"more than once, e.g. \['a'\]"):
        read_cohort(str(bad))
    with pytest.raises(FileNotFoundError, match='nowhere: no such folder'):
        read_cohort(str(tmp_path / 'nowhere'))
    folder = tmp_path / 'study'
    for rel in ('control/p1.mp4', 'control/p2.MOV', 'patient/sub/p3.mp4', 'notes.txt',
                'p0.mp4'):
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(b'')
    assert [(r.name, r.subject, r.group) for r in read_cohort(str(folder))] == [
        ('p0', 'p0', 'all'), ('p1', 'p1', 'control'), ('p2', 'p2', 'control'),
        ('p3', 'p3', 'patient')]


# --------------------------------------------------------------------------- tables
def _segments(label, *spans):
    return [dict(start=s, end=e, label_name=label) for s, e in spans]


def test_tables_match_hand_computed_counts_rates_and_group_stats():
    """A: 120 s, nod 2+1+3 s, shake 4 s -> nod count 3, total 6, mean 2, 1.5/min; shake 0.5/min.
    B: 60 s, one nod of 4 s -> 1/min. C: 30 s (too short for a rate), one shake of 2 s.
    Group g1 = A, B: nod rate mean 1.25, std sqrt(2 * 0.25^2 / 1) = 0.3536; total 5 +- 1.4142."""
    recs = [Recording('A', 'a.mp4', 's1', 'g1', (('age', '30'),)),
            Recording('B', 'b.mp4', 's2', 'g1', (('age', '41'),)),
            Recording('C', 'c.mp4', 's3', 'g2', ())]
    reports = {
        'A': dict(duration_s=120.0, summary=[dict(label='nod'), dict(label='shake')],
                  segments=_segments('nod', (0, 2), (10, 11), (50, 53))
                  + _segments('shake', (60, 64)),
                  coverage=dict(face=0.25, left_hand=1.0)),
        'B': dict(duration_s=60.0, summary=[dict(label='nod'), dict(label='shake')],
                  segments=_segments('nod', (5, 9))),  # no coverage: an older segments.json
        'C': dict(duration_s=30.0, summary=[dict(label='nod'), dict(label='shake')],
                  segments=_segments('shake', (1, 3)))}
    header, rows = cohort_table(recs, reports, rate_min_s=60)
    assert header == ['recording', 'subject', 'group', 'age', 'label', 'count', 'total_s',
                      'mean_s', 'rate_per_min', 'duration_s', 'coverage_face',
                      'coverage_left_hand']
    table = {(r[0], r[4]): dict(zip(header, r)) for r in rows}
    assert len(rows) == 6
    a_nod = table['A', 'nod']
    assert (a_nod['count'], a_nod['total_s'], a_nod['mean_s'], a_nod['rate_per_min']) == \
        (3, 6.0, 2.0, 1.5)
    assert table['A', 'shake']['rate_per_min'] == 0.5 and a_nod['coverage_face'] == 0.25
    assert (table['B', 'shake']['count'], table['B', 'shake']['mean_s']) == (0, '')
    assert table['B', 'nod']['coverage_face'] == '' and table['C', 'nod']['age'] == ''
    assert table['C', 'shake']['rate_per_min'] == '' and table['C', 'shake']['total_s'] == 2.0
    header, rows = group_table(recs, reports, rate_min_s=60)
    groups = {(r[0], r[1]): dict(zip(header, r)) for r in rows}
    g1 = groups['g1', 'nod']
    assert (g1['recordings'], g1['rated_recordings'], g1['rate_per_min_mean']) == (2, 2, 1.25)
    assert g1['rate_per_min_std'] == pytest.approx(0.3536, abs=1e-4)
    assert (g1['total_s_mean'], g1['total_s_std']) == (5.0, pytest.approx(1.4142, abs=1e-4))
    g2 = groups['g2', 'shake']
    assert (g2['rated_recordings'], g2['rate_per_min_mean'], g2['rate_per_min_std'],
            g2['total_s_mean'], g2['total_s_std']) == (0, '', '', 2.0, '')


# --------------------------------------------------------------------------- end to end
def _study(tmp_path: Path) -> Path:
    write_skeleton(tmp_path / 'rec_a.npz', 3.0, seed=0)
    write_skeleton(tmp_path / 'rec_b.npz', 6.0, seed=1)
    write_skeleton(tmp_path / 'rec_c.npz', 4.0, seed=2)
    np.savez_compressed(tmp_path / 'rec_bad.npz', points=np.zeros(3))
    table = tmp_path / 'study.csv'
    table.write_text('path,subject,group,site\nrec_a.npz,s1,control,x\nrec_bad.npz,s9,control,y\n'
                     'rec_b.npz,s2,patient,x\nrec_c.npz,s3,patient,y\n')
    return table


def test_cohort_end_to_end_resume_skip_and_report(checkpoint, tmp_path, monkeypatch):
    table = _study(tmp_path)
    out = tmp_path / 'out'
    argv = [str(table), SYNTHETIC, checkpoint, '--out', str(out), '--rate-min-seconds', '5',
            *FAST]
    result = cohort_tool.main(argv)
    assert sorted(result.done) == ['rec_a', 'rec_b', 'rec_c'] and not result.resumed
    assert list(result.failed) == ['rec_bad']
    assert 'no "keypoints" array' in result.failed['rec_bad']
    for name in ('rec_a', 'rec_b', 'rec_c'):
        folder = out / 'recordings' / name
        assert {'segments.json', 'segments.csv', 'summary.csv', 'windows.csv',
                'timeline.png', '.cohort_done.json'} <= {p.name for p in folder.iterdir()}
    skipped = read_rows(out / 'skipped.csv')
    assert [(r['recording'], r['subject']) for r in skipped] == [('rec_bad', 's9')]
    rows = read_rows(out / 'cohort.csv')
    assert len(rows) == 3 * 8 and {r['site'] for r in rows} == {'x', 'y'}
    for row in rows:  # every row agrees with that recording's own segments.json
        saved = json.loads((out / 'recordings' / row['recording'] / 'segments.json').read_text())
        mine = [s for s in saved['segments'] if s['label_name'] == row['label']]
        assert int(row['count']) == len(mine)
        assert float(row['total_s']) == pytest.approx(sum(s['end'] - s['start'] for s in mine),
                                                      abs=2e-3)
        assert float(row['duration_s']) == saved['duration_s']
        if saved['duration_s'] < 5:
            assert row['rate_per_min'] == ''
        else:
            assert float(row['rate_per_min']) == pytest.approx(
                len(mine) / (saved['duration_s'] / 60), abs=2e-3)
    assert {r['group'] for r in read_rows(out / 'groups.csv')} == {'control', 'patient'}
    page = (out / 'report.html').read_text()
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == 2 and all(base64.b64decode(i)[:4] == b'\x89PNG' for i in images)
    assert 'rec_bad' in page and 'no &quot;keypoints&quot; array' in page
    assert not re.search(r'(src|href)="(?!data:)|<link|<script|url\(', page)  # no fetches
    assert '@media print' in page

    # a second run recomputes nothing that finished (the bad one is tried again)
    calls = []
    real = cohort_api.process_recording
    monkeypatch.setattr(cohort_api, 'process_recording',
                        lambda rec, *a, **k: calls.append(rec.name) or real(rec, *a, **k))
    marker = out / 'recordings' / 'rec_b' / '.cohort_done.json'
    stamp = marker.stat().st_mtime_ns
    again = cohort_tool.main(argv)
    assert calls == ['rec_bad'] and sorted(again.resumed) == ['rec_a', 'rec_b', 'rec_c']
    assert marker.stat().st_mtime_ns == stamp
    assert read_rows(out / 'cohort.csv') == rows  # same numbers from the files

    # a recording whose marker is missing (killed while it ran) is redone, alone
    (out / 'recordings' / 'rec_c' / '.cohort_done.json').unlink()
    calls.clear()
    cohort_tool.main(argv)
    assert calls == ['rec_c', 'rec_bad'] or calls == ['rec_bad', 'rec_c']

    # other settings: refused, unless --overwrite
    with pytest.raises(ValueError, match='finished with other settings.*--overwrite'):
        cohort_tool.main(argv[:-len(FAST)] + ['--threshold', '0.9', *FAST[6:]])
    calls.clear()
    cohort_tool.main(argv + ['--overwrite'])
    assert sorted(calls) == ['rec_a', 'rec_b', 'rec_bad', 'rec_c']


def test_bad_cohort_arguments_fail_before_any_work(checkpoint, tmp_path):
    table = tmp_path / 'study.csv'
    table.write_text('path,subject,group\nx.npz,s1,g\n')
    with pytest.raises(FileNotFoundError, match='checkpoint not found: .*nope.pth'):
        cohort_tool.main([str(table), SYNTHETIC, str(tmp_path / 'nope.pth'), '--out',
                          str(tmp_path / 'o'), *FAST])
    with pytest.raises(ValueError, match='demo options .*--pose-stride'):
        cohort_api.run_cohort(read_cohort(str(table)), SYNTHETIC, checkpoint,
                              str(tmp_path / 'o'), ['--pose-stride', 'two'])
    with pytest.raises(SystemExit):
        cohort_tool.parse_args([str(table), SYNTHETIC, checkpoint, '--out', 'o', '--workers',
                                '0'])
    assert not (tmp_path / 'o' / 'recordings').exists()


def test_a_killed_run_with_two_workers_continues_where_it_stopped(checkpoint, tmp_path):
    """Kill the tool and its 2 worker processes (the process group, as a terminal's Ctrl-C
    or a scheduler would) once a recording is finished; the rerun keeps what was finished."""
    table = _study(tmp_path)
    out = tmp_path / 'out'
    cmd = [sys.executable, str(REPO / 'tools' / 'cohort.py'), str(table), SYNTHETIC,
           checkpoint, '--out', str(out), '--workers', '2', *FAST]
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                            start_new_session=True)
    deadline = time.time() + 90
    while (not list(out.glob('recordings/*/.cohort_done.json')) and proc.poll() is None
           and time.time() < deadline):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = {p.parent.name for p in out.glob('recordings/*/.cohort_done.json')}
    assert finished, 'no recording finished before the kill'
    stamps = {n: (out / 'recordings' / n / '.cohort_done.json').stat().st_mtime_ns
              for n in finished}
    result = cohort_tool.main(cmd[2:])
    assert set(result.resumed) == finished
    assert sorted(result.done + result.resumed) == ['rec_a', 'rec_b', 'rec_c']
    assert stamps == {n: (out / 'recordings' / n / '.cohort_done.json').stat().st_mtime_ns
                      for n in finished}
    assert len(read_rows(out / 'cohort.csv')) == 3 * 8
    assert not list(out.glob('**/.*.tmp'))  # atomic writes: no half-written files survive


def test_real_clips_through_mediapipe(checkpoint, tmp_path):
    """A folder study of real MA-52 clips (groups from sub-folders) and a corrupt video,
    through the offline MediaPipe backend."""
    clips = require_shared(MA52_DEMO)
    for group, pattern in (('control', 'B1_*'), ('patient', 'B2_*')):
        (tmp_path / 'study' / group).mkdir(parents=True)
        source = sorted(clips.glob(pattern + '.mp4'))[0]
        (tmp_path / 'study' / group / source.name).symlink_to(source)
    (tmp_path / 'study' / 'patient' / 'broken.mp4').write_bytes(b'\0' * 2048)
    out = tmp_path / 'out'
    result = cohort_tool.main([str(tmp_path / 'study'), SYNTHETIC, checkpoint, '--out',
                               str(out), '--pose-stride', '2',
                               '--rate-min-seconds', '0', *FAST])
    assert len(result.done) == 2 and list(result.failed) == ['broken']
    assert 'OpenCV cannot open' in result.failed['broken']
    rows = read_rows(out / 'cohort.csv')
    assert {(r['group'], r['recording'][:2]) for r in rows} == {('control', 'B1'),
                                                                ('patient', 'B2')}
    for name in result.done:
        saved = json.loads((out / 'recordings' / name / 'segments.json').read_text())
        assert saved['num_frames'] >= 40 and saved['fps'] == pytest.approx(30.0, abs=0.5)
        assert saved['pose']['stride'] == 2  # --pose-stride reached the demo pipeline
        mine = [r for r in rows if r['recording'] == name]
        assert sum(int(r['count']) for r in mine) == len(saved['segments'])
    page = (out / 'report.html').read_text()
    assert 'broken' in page and page.count('data:image/png;base64,') == 2


def test_a_study_where_every_recording_fails_exits_nonzero(checkpoint, tmp_path):
    bad = tmp_path / 'bad.npz'
    np.savez(bad, nothing=np.zeros(3))
    table = tmp_path / 'study.csv'
    table.write_text(f'path,subject,group\n{bad},s1,g\n')
    result = cohort_tool.main([str(table), SYNTHETIC, checkpoint, '--out', str(tmp_path / 'o'),
                               *FAST])
    assert list(result.failed) == ['bad'] and cohort_tool.exit_status(result) == 1
    good = write_skeleton(tmp_path / 'good.npz', 2.0)
    table.write_text(f'path,subject,group\n{bad},s1,g\n{good},s2,g\n')
    result = cohort_tool.main([str(table), SYNTHETIC, checkpoint, '--out', str(tmp_path / 'o'),
                               *FAST])
    assert result.done == ['good'] and cohort_tool.exit_status(result) == 0
