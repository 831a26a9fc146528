"""A study at once: many recordings (subject, group) -> per-recording timelines and a report.

    recordings = read_cohort('study.csv')            # or a folder of videos
    result = run_cohort(recordings, CONFIG, CHECKPOINT, 'work_dirs/study', workers=2)

Each recording goes through the ``tools/demo.py`` pipeline into ``DIR/recordings/<name>/``
(``segments.json``, ``segments.csv``, ``timeline.png``, ...). A recording is finished when its
marker ``.cohort_done.json`` exists: it is written atomically after the demo's files, so a
killed run leaves no marker for a half-done recording, and the next run with the same settings
skips the finished ones and redoes only the rest. A recording that fails (unreadable video, no
person, ...) is skipped and listed in ``skipped.csv`` and the report; the study carries on.

The tables (``cohort.csv``, ``groups.csv``) are computed from the finished recordings'
``segments.json`` files, never from memory, so a resumed run gives the same numbers as an
uninterrupted one.
"""
import contextlib
import csv
import hashlib
import io
import json
import math
import multiprocessing as mp
import os
import os.path as osp
import time
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

from tqdm import tqdm

from mdn.utils.io import atomic_write

from .recording import write_csv

DONE_MARKER = '.cohort_done.json'
SKELETON_EXTS = ('.npz', '.pkl', '.pickle')
REQUIRED_COLUMNS = ('path', 'subject', 'group')


@dataclass(frozen=True)
class Recording:
    """One recording of the study; ``extra`` holds the input CSV's other columns."""
    name: str
    path: str
    subject: str
    group: str
    extra: Tuple[Tuple[str, str], ...] = ()


# --------------------------------------------------------------------------- input
def read_cohort(source: str) -> List[Recording]:
    """Recordings of a folder (every video under it; the group is the first sub-folder, or
    ``all``; the subject is the file name) or of a CSV with columns ``path, subject, group``
    and any others (kept as extra columns); relative paths are relative to the CSV.

    Raises ``FileNotFoundError`` / ``ValueError`` naming the file, the line and the problem.
    """
    if osp.isdir(source):
        recordings = _read_folder(source)
    elif osp.isfile(source):
        recordings = _read_csv(source)
    else:
        raise FileNotFoundError(f'{source}: no such folder of recordings or CSV file')
    if not recordings:
        raise ValueError(f'{source}: no recordings found (videos in a folder, or rows in a CSV '
                         'with columns path, subject, group)')
    counts = Counter(r.name for r in recordings)
    dupes = sorted(n for n, c in counts.items() if c > 1)
    if dupes:
        raise ValueError(f'{source}: {len(dupes)} recording names occur more than once, e.g. '
                         f'{dupes[:3]}; names come from the file names (or a "name" column): '
                         'make them unique')
    return recordings


def _read_folder(folder: str) -> List[Recording]:
    from mdn.pose.inputs import find_videos
    recordings = []
    for item in find_videos(folder):
        parts = osp.relpath(item.path, folder).split(os.sep)
        group = parts[0] if len(parts) > 1 else 'all'
        recordings.append(Recording(item.name, item.path, item.name, group))
    return recordings


def _read_csv(path: str) -> List[Recording]:
    with open(path, newline='', encoding='utf-8-sig') as f:
        reader = csv.DictReader(f)
        header = [h.strip() for h in (reader.fieldnames or [])]
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        if missing:
            raise ValueError(f'{path}: missing column(s) {missing}; a cohort CSV needs '
                             f'{list(REQUIRED_COLUMNS)} (found {header})')
        root = osp.dirname(osp.abspath(path))
        recordings = []
        for number, raw in enumerate(reader, 2):
            row = {(k or '').strip(): (v or '').strip() for k, v in raw.items()}
            if not any(row.values()):
                continue
            empty = [c for c in REQUIRED_COLUMNS if not row.get(c)]
            if empty:
                raise ValueError(f'{path}:{number}: empty {empty}')
            file = osp.normpath(row['path'] if osp.isabs(row['path'])
                                else osp.join(root, row['path']))
            name = row.get('name') or osp.splitext(osp.basename(file))[0]
            if '/' in name or name in ('', '.', '..'):
                raise ValueError(f'{path}:{number}: "{name}" cannot name a recording folder')
            extra = tuple((k, row[k]) for k in header
                          if k not in REQUIRED_COLUMNS and k != 'name')
            recordings.append(Recording(name, file, row['subject'], row['group'], extra))
    return recordings


# --------------------------------------------------------------------------- processing
_MODEL: Dict[str, Any] = {}  # the model of this process, reused across its recordings


def run_demo(argv: Sequence[str]) -> dict:
    """``tools/demo.py ARGV`` in this process (the demo's own parser, ``mdn.apis.demo_cli``),
    with the model built once per process and reused (``run_recording(model=...)``): a study of
    many short recordings does not pay the model's start-up for each. Returns the
    segments.json report."""
    from .demo_cli import parse_args, timeline_options
    from .recording import run_recording
    args = parse_args(list(argv))
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    key = json.dumps([args.config, args.checkpoint, args.device, args.cfg_options],
                     sort_keys=True, default=str)
    if _MODEL.get('key') != key:
        from .inference import init_recognizer
        _MODEL['model'] = init_recognizer(args.config, args.checkpoint, args.device,
                                          args.cfg_options)
        _MODEL['key'] = key
    return run_recording(args.input, args.out, model=_MODEL['model'], config=args.config,
                         checkpoint=args.checkpoint, options=timeline_options(args),
                         device=args.device, progress=False)


def settings_key(config: str, checkpoint: str, demo_args: Sequence[str]) -> str:
    """What makes a finished recording reusable: config, checkpoint (path, size, mtime) and
    the demo options; a resumed run with other settings would mix results."""
    parts: List[Any] = [osp.abspath(config), list(demo_args)]
    for path in (config, checkpoint):
        if osp.isfile(path):
            stat = os.stat(path)
            parts.append([osp.abspath(path), stat.st_size, int(stat.st_mtime)])
        else:
            parts.append(path)
    return hashlib.sha1(json.dumps(parts).encode()).hexdigest()[:16]


def recording_dir(out: str, name: str) -> str:
    return osp.join(out, 'recordings', name)


def is_done(out: str, name: str, key: str) -> bool:
    """Finished with these settings: the marker says so and ``segments.json`` is there."""
    directory = recording_dir(out, name)
    marker = osp.join(directory, DONE_MARKER)
    if not (osp.isfile(marker) and osp.isfile(osp.join(directory, 'segments.json'))):
        return False
    try:
        with open(marker, encoding='utf-8') as f:
            return json.load(f).get('settings') == key
    except (OSError, ValueError):
        return False


def process_recording(recording: Recording, out: str, config: str, checkpoint: str,
                      demo_args: Sequence[str], key: str) -> Tuple[str, Optional[str], float]:
    """Run the demo pipeline on one recording; ``(name, failure reason or None, seconds)``.

    The demo's printout goes to ``demo.log`` in the recording's folder (a progress bar over
    recordings stays readable); the marker is written last, atomically.
    """
    directory = recording_dir(out, recording.name)
    os.makedirs(directory, exist_ok=True)
    marker = osp.join(directory, DONE_MARKER)
    remove_stale_temporaries(directory)
    with contextlib.suppress(FileNotFoundError):
        os.remove(marker)
    start = time.perf_counter()
    argv = [recording.path, config, checkpoint, '--out', directory, '--no-progress',
            *demo_args]
    try:
        with _output_to(osp.join(directory, 'demo.log')):
            run_demo(argv)
    except Exception as err:  # one bad recording must not stop the study
        reason = str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)
        reason = f'{type(err).__name__}: {reason}'.split('\n')[0]
        with open(osp.join(directory, 'demo.log'), 'a', encoding='utf-8') as log:
            log.write(f'FAILED: {reason}\n')
        return recording.name, reason, time.perf_counter() - start
    seconds = time.perf_counter() - start
    with atomic_write(marker, 'w') as f:
        json.dump(dict(settings=key, path=recording.path, seconds=round(seconds, 2),
                       finished=time.strftime('%Y-%m-%d %H:%M:%S')), f)
    return recording.name, None, seconds


@contextlib.contextmanager
def _output_to(path: str):
    """Send this process's output (Python's and the C++ libraries', e.g. MediaPipe's log
    lines on file descriptor 2) to ``path`` while a recording runs, so the progress bar over
    recordings stays readable and each recording's messages stay with it."""
    import sys
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    with open(path, 'w', encoding='utf-8') as log:
        saved = [os.dup(1), os.dup(2)]
        try:
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
            with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
                yield
        finally:
            log.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)


def remove_stale_temporaries(directory: str) -> None:
    """Delete the ``.<name>.*.tmp`` files of atomic writes that a killed run left behind."""
    import glob
    for path in glob.glob(osp.join(glob.escape(directory), '.*.tmp')):
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)


def _worker(args) -> Tuple[str, Optional[str], float]:
    import torch
    recording, out, config, checkpoint, demo_args, key, threads = args
    torch.set_num_threads(threads)
    return process_recording(recording, out, config, checkpoint, demo_args, key)


@dataclass
class CohortResult:
    """What a run did and wrote."""
    recordings: List[Recording]
    done: List[str] = field(default_factory=list)  # computed in this run
    resumed: List[str] = field(default_factory=list)  # finished earlier, not recomputed
    failed: Dict[str, str] = field(default_factory=dict)  # name -> reason
    seconds: float = 0.0
    files: Dict[str, str] = field(default_factory=dict)

    def format(self) -> str:
        lines = [f'{len(self.recordings)} recordings: {len(self.done)} processed, '
                 f'{len(self.resumed)} already done (resumed), {len(self.failed)} skipped, '
                 f'in {self.seconds:.1f} s']
        lines += [f'  SKIPPED {name}: {reason}' for name, reason in self.failed.items()]
        lines += [f'{key}: {path}' for key, path in self.files.items()]
        return '\n'.join(lines)


def run_cohort(recordings: Sequence[Recording], config: str, checkpoint: str, out: str,
               demo_args: Sequence[str] = (), workers: int = 1, progress: bool = True,
               overwrite: bool = False, rate_min_s: float = 60.0) -> CohortResult:
    """Process every recording not finished yet (resume), then write the tables, figures and
    ``report.html`` from all finished ones.

    Args:
        demo_args: ``tools/demo.py`` options used for every recording (checked up front).
        workers: recordings processed at once, each in its own process with
            ``cpus // workers`` torch threads (unless ``--threads`` is in ``demo_args``).
        overwrite: recompute finished recordings too.
        rate_min_s: recordings shorter than this get no rate per minute (a rate of a few
            seconds is an extrapolation, not a measurement).

    Raises:
        ValueError: bad ``demo_args``; finished recordings of an earlier run with other
            settings (without ``overwrite``).
    """
    _check_demo_args(config, checkpoint, demo_args)
    key = settings_key(config, checkpoint, demo_args)
    os.makedirs(out, exist_ok=True)
    remove_stale_temporaries(out)
    _check_settings(out, key, overwrite, config, checkpoint, demo_args)
    result = CohortResult(list(recordings))
    start = time.perf_counter()
    todo = []
    for recording in recordings:
        if not overwrite and is_done(out, recording.name, key):
            result.resumed.append(recording.name)
        elif not osp.exists(recording.path):  # no need to start a pipeline to find that out
            result.failed[recording.name] = f'FileNotFoundError: {recording.path}: no such file'
        else:
            todo.append(recording)
    for name, reason in result.failed.items():
        if progress:
            tqdm.write(f'SKIPPED {name}: {reason}')
    threads = max(1, (os.cpu_count() or 1) // max(1, workers))
    with tqdm(total=len(recordings), initial=len(result.resumed) + len(result.failed),
              desc='recordings',
              unit='rec', disable=not progress) as bar:
        for name, reason, _ in _run_all(todo, out, config, checkpoint, demo_args, key,
                                        workers, threads):
            if reason is None:
                result.done.append(name)
            else:
                result.failed[name] = reason
                tqdm.write(f'SKIPPED {name}: {reason}')
            bar.update(1)
    result.seconds = time.perf_counter() - start
    result.files = write_outputs(out, recordings, result.failed, rate_min_s,
                                 dict(config=config, checkpoint=checkpoint,
                                      demo_args=' '.join(demo_args)))
    return result


def _check_demo_args(config: str, checkpoint: str, demo_args: Sequence[str]) -> None:
    """Parse the demo options once here: a typo fails now, not once per recording."""
    from .demo_cli import parse_args
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr):
            parse_args(['input.mp4', config, checkpoint, '--out', 'x', *demo_args])
    except SystemExit:
        message = stderr.getvalue().strip().splitlines()
        raise ValueError(f'demo options {list(demo_args)}: '
                         f'{message[-1] if message else "invalid"}') from None
    if not checkpoint.startswith(('http://', 'https://')) and not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint not found: {checkpoint}')


def _check_settings(out: str, key: str, overwrite: bool, config: str, checkpoint: str,
                    demo_args: Sequence[str]) -> None:
    path = osp.join(out, 'cohort_settings.json')
    if osp.isfile(path) and not overwrite:
        with open(path, encoding='utf-8') as f:
            earlier = json.load(f)
        if earlier.get('settings') != key and osp.isdir(osp.join(out, 'recordings')):
            raise ValueError(f'{out}: holds recordings finished with other settings ({path}: '
                             f'{earlier.get("config")}, {earlier.get("checkpoint")}, '
                             f'{earlier.get("demo_args")}); use another --out, or --overwrite '
                             'to recompute them all')
    with atomic_write(path, 'w') as f:
        json.dump(dict(settings=key, config=config, checkpoint=checkpoint,
                       demo_args=list(demo_args)), f, indent=1)


def _run_all(todo: List[Recording], out: str, config: str, checkpoint: str,
             demo_args: Sequence[str], key: str, workers: int, threads: int):
    if not todo:
        return
    explicit = '--threads' in demo_args
    args = list(demo_args) if explicit else [*demo_args, '--threads', str(threads)]
    if workers <= 1 or len(todo) == 1:  # one recording: no process to start
        for recording in todo:
            yield process_recording(recording, out, config, checkpoint, args, key)
        return
    context = mp.get_context('spawn')  # torch, OpenCV and MediaPipe threads do not survive fork
    with context.Pool(min(workers, len(todo))) as pool:
        jobs = [(r, out, config, checkpoint, args, key, threads) for r in todo]
        yield from pool.imap_unordered(_worker, jobs)
        pool.close()
        pool.join()


# --------------------------------------------------------------------------- tables
def load_recording(out: str, name: str) -> dict:
    with open(osp.join(recording_dir(out, name), 'segments.json'), encoding='utf-8') as f:
        return json.load(f)


def recording_stats(report: dict, labels: Sequence[str], rate_min_s: float = 60.0
                    ) -> List[dict]:
    """Per label of one recording: count, total and mean seconds, rate per minute (None when
    the recording is shorter than ``rate_min_s``), computed from its segments."""
    duration = float(report['duration_s'])
    rated = duration >= rate_min_s and duration > 0
    rows = []
    for label in labels:
        spans = [s['end'] - s['start'] for s in report.get('segments', [])
                 if s['label_name'] == label]
        total = sum(spans)
        rows.append(dict(label=label, count=len(spans), total_s=round(float(total), 3),
                         mean_s=round(total / len(spans), 3) if spans else None,
                         rate_per_min=round(len(spans) / (duration / 60.0), 3) if rated
                         else None))
    return rows


def cohort_labels(reports: Sequence[dict]) -> List[str]:
    """Labels in a stable order: each report's summary order (every class the demo kept,
    count 0 included), then any label only seen in segments."""
    labels: 'OrderedDict[str, None]' = OrderedDict()
    for report in reports:
        for row in report.get('summary', []):
            labels.setdefault(str(row['label']), None)
    for report in reports:
        for seg in report.get('segments', []):
            labels.setdefault(seg['label_name'], None)
    return list(labels)


def cohort_table(recordings: Sequence[Recording], reports: Dict[str, dict],
                 rate_min_s: float = 60.0) -> Tuple[List[str], List[list]]:
    """``cohort.csv``: one row per recording and micro-action."""
    labels = cohort_labels(list(reports.values()))
    extra = list(OrderedDict((k, None) for r in recordings for k, _ in r.extra))
    entities = list(OrderedDict((e, None) for rep in reports.values()
                                for e in (rep.get('coverage') or {})))
    header = (['recording', 'subject', 'group', *extra, 'label', 'count', 'total_s', 'mean_s',
               'rate_per_min', 'duration_s'] + [f'coverage_{e}' for e in entities])
    rows = []
    for rec in recordings:
        if rec.name not in reports:
            continue
        report = reports[rec.name]
        coverage = report.get('coverage') or {}
        values = dict(rec.extra)
        for stat in recording_stats(report, labels, rate_min_s):
            rows.append([rec.name, rec.subject, rec.group, *[values.get(k, '') for k in extra],
                         stat['label'], stat['count'], stat['total_s'], _blank(stat['mean_s']),
                         _blank(stat['rate_per_min']), report['duration_s']]
                        + [_blank(coverage.get(e)) for e in entities])
    return header, rows


def group_table(recordings: Sequence[Recording], reports: Dict[str, dict],
                rate_min_s: float = 60.0) -> Tuple[List[str], List[list]]:
    """``groups.csv``: per group and micro-action, the mean and standard deviation (n - 1) of
    the rate per minute and of the total seconds over the group's recordings; the std is
    empty for a group of one."""
    labels = cohort_labels(list(reports.values()))
    groups: 'OrderedDict[str, List[str]]' = OrderedDict()
    for rec in recordings:
        if rec.name in reports:
            groups.setdefault(rec.group, []).append(rec.name)
    header = ['group', 'label', 'recordings', 'rated_recordings', 'rate_per_min_mean',
              'rate_per_min_std', 'total_s_mean', 'total_s_std']
    rows = []
    for group, names in groups.items():
        stats = [recording_stats(reports[n], labels, rate_min_s) for n in names]
        for i, label in enumerate(labels):
            rates = [s[i]['rate_per_min'] for s in stats if s[i]['rate_per_min'] is not None]
            totals = [s[i]['total_s'] for s in stats]
            rows.append([group, label, len(names), len(rates), _blank(_mean(rates)),
                         _blank(_std(rates)), _blank(_mean(totals)), _blank(_std(totals))])
    return header, rows


def _mean(values: Sequence[float]) -> Optional[float]:
    return round(sum(values) / len(values), 4) if values else None


def _std(values: Sequence[float]) -> Optional[float]:
    if len(values) < 2:
        return None
    mean = sum(values) / len(values)
    return round(math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)), 4)


def _blank(value):
    return '' if value is None else value


def write_outputs(out: str, recordings: Sequence[Recording], failed: Dict[str, str],
                  rate_min_s: float, settings: Dict[str, str]) -> Dict[str, str]:
    """Tables, figures and the report from the finished recordings' ``segments.json``."""
    from mdn.visualization.cohort_plots import plot_group_rates, plot_rate_heatmap

    from .cohort_report import write_report
    reports = {r.name: load_recording(out, r.name) for r in recordings
               if r.name not in failed and osp.isfile(
                   osp.join(recording_dir(out, r.name), DONE_MARKER))}
    files = dict(cohort_csv=write_csv(osp.join(out, 'cohort.csv'),
                                      *cohort_table(recordings, reports, rate_min_s)),
                 groups_csv=write_csv(osp.join(out, 'groups.csv'),
                                      *group_table(recordings, reports, rate_min_s)),
                 skipped_csv=write_csv(osp.join(out, 'skipped.csv'),
                                       ['recording', 'path', 'subject', 'group', 'reason'],
                                       [[r.name, r.path, r.subject, r.group, failed[r.name]]
                                        for r in recordings if r.name in failed]))
    labels = cohort_labels(list(reports.values()))
    done = [r for r in recordings if r.name in reports]
    rates = [[s['rate_per_min'] for s in recording_stats(reports[r.name], labels, rate_min_s)]
             for r in done]
    files['heatmap_png'] = plot_rate_heatmap(osp.join(out, 'rates_heatmap.png'),
                                             [f'{r.name} ({r.group})' for r in done],
                                             labels, rates,
                                             rate_min_s)
    points: Dict[Tuple[str, str], List[Optional[float]]] = {}
    for rec, row in zip(done, rates):
        for label, rate in zip(labels, row):
            points.setdefault((rec.group, label), []).append(rate)
    files['groups_png'] = plot_group_rates(osp.join(out, 'groups.png'),
                                           *group_table(recordings, reports, rate_min_s),
                                           points=points)
    files['report_html'] = write_report(osp.join(out, 'report.html'), recordings, reports,
                                        failed, files, settings, rate_min_s)
    return files


__all__ = ['Recording', 'CohortResult', 'read_cohort', 'run_cohort', 'process_recording',
           'recording_stats', 'cohort_table', 'group_table', 'write_outputs', 'settings_key',
           'is_done']
