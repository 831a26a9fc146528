"""Real-time factor of ``tools/demo.py`` end to end: seconds of video per second of wall time.

    python tools/analysis/realtime_factor.py [--video VIDEO] [--config CONFIG --checkpoint CKPT]
        [--repeat 3] [--beside-training] [--out work_dirs/realtime] [-- DEMO FLAGS ...]

Without ``--video`` the six MA-52 demo clips (``../shared/data/videos/ma52_demo``) are joined
into one 11.1 s video (1080x1296, 30 fps; OpenCV writes it as MPEG-4 part 2, since its wheels
cannot write H.264) under ``--out``. Without a checkpoint the default config
(``configs/micro_dualnet/mdn_synthetic.py``) gets random weights: the model's time is the
same as a trained one's. Each repeat runs ``tools/demo.py VIDEO CONFIG CHECKPOINT --out DIR``
with its default settings (plus any flags after ``--``) in a fresh process and prints

* ``process``: video seconds / wall seconds of the whole command (Python start, imports,
  decoding, pose, model, every output file): what a user waits;
* ``pipeline``: the same over ``run.wall_s`` of ``segments.json`` (from the start of
  ``main()``: model loading, decoding, pose, model and outputs, without the interpreter
  start and the first imports);
* the CPU seconds the command used (all threads): on an idle machine of N cores the wall time
  cannot be below CPU / N, so ``duration / (CPU / 2)`` bounds the factor a 2-core machine can
  reach, whatever else runs while measuring.

``--beside-training`` runs a training job (``tools/train.py`` on the synthetic config, one
thread) beside the measurement, as on a shared workstation.
"""
import argparse
import glob
import json
import os
import os.path as osp
import signal
import statistics
import subprocess
import sys
import time
from typing import List, Optional

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)

MA52_DEMO = osp.join(ROOT, '..', 'shared', 'data', 'videos', 'ma52_demo')
DEFAULT_CONFIG = 'configs/micro_dualnet/mdn_synthetic.py'


def join_videos(paths: List[str], out: str) -> str:
    """Write the frames of ``paths`` one after the other into ``out`` (all the same size/fps)."""
    import cv2

    from mdn.utils.io import default_file_mode
    if not paths:
        raise FileNotFoundError(f'no videos to join (looked in {MA52_DEMO})')
    first = cv2.VideoCapture(paths[0])
    fps = first.get(cv2.CAP_PROP_FPS) or 30.0
    size = (int(first.get(cv2.CAP_PROP_FRAME_WIDTH)), int(first.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    first.release()
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    tmp = out + '.part.mp4'
    writer = cv2.VideoWriter(tmp, cv2.VideoWriter_fourcc(*'mp4v'), fps, size)
    if not writer.isOpened():
        raise OSError(f'{out}: OpenCV cannot write MP4 (mp4v) here')
    for path in paths:
        cap = cv2.VideoCapture(path)
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            if (frame.shape[1], frame.shape[0]) != size:
                raise ValueError(f'{path}: frame size {frame.shape[1]}x{frame.shape[0]} differs '
                                 f'from {size[0]}x{size[1]} of {paths[0]}')
            writer.write(frame)
        cap.release()
    writer.release()
    os.chmod(tmp, default_file_mode())
    os.replace(tmp, out)
    return out


def random_checkpoint(config: str, out: str) -> str:
    if not osp.isfile(out):
        subprocess.run([sys.executable, osp.join(ROOT, 'tools/analysis/random_checkpoint.py'),
                        config, out], check=True, cwd=ROOT)
    return out


def prepare_inputs(video: Optional[str], config: str, checkpoint: Optional[str],
                   out: str) -> 'tuple[str, str]':
    """The video to time (default: the MA-52 demo clips joined, made once under ``out``) and
    the checkpoint (default: random weights of ``config``, made once under ``out``)."""
    os.makedirs(out, exist_ok=True)
    if not video:
        video = osp.join(out, 'ma52_demo_joined.mp4')
        if not osp.isfile(video):
            join_videos(sorted(glob.glob(osp.join(MA52_DEMO, '*.mp4'))), video)
    return video, checkpoint or random_checkpoint(config, osp.join(out, 'random_weights.pth'))


def start_training(work_dir: str) -> subprocess.Popen:
    """A one-thread training job of the synthetic config, in its own process group."""
    env = dict(os.environ, OMP_NUM_THREADS='1')
    log = open(osp.join(work_dir, 'beside_training.log'), 'w')
    return subprocess.Popen(
        [sys.executable, osp.join(ROOT, 'tools/train.py'), DEFAULT_CONFIG, '--work-dir',
         osp.join(work_dir, 'beside_training'), '--cfg-options', 'train_cfg.max_epochs=1000'],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def children_cpu_s() -> float:
    import resource
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_demo(video: str, config: str, checkpoint: str, out: str, extra: List[str],
             script: str = 'tools/demo.py') -> dict:
    cpu = children_cpu_s()
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, osp.join(ROOT, script), video, config,
                           checkpoint, '--out', out, '--no-progress', *extra], cwd=ROOT,
                          capture_output=True, text=True)
    wall = time.perf_counter() - start
    cpu = children_cpu_s() - cpu
    if proc.returncode:
        raise RuntimeError(f'tools/demo.py failed ({proc.returncode}):\n{proc.stderr[-2000:]}')
    with open(osp.join(out, 'segments.json'), encoding='utf-8') as f:
        report = json.load(f)
    run = report['run']
    return dict(process_s=round(wall, 2), cpu_s=round(cpu, 2), pipeline_s=run['wall_s'],
                pose_s=run.get('pose_s'), stage_cpu_s=run.get('cpu_s'),
                timeline_s=run['timeline_s'], output_s=run.get('output_s'),
                duration_s=report['duration_s'],
                pose_stride=report.get('pose', {}).get('stride', 1),
                process_rtf=round(report['duration_s'] / wall, 3),
                pipeline_rtf=round(report['duration_s'] / run['wall_s'], 3),
                two_core_bound_rtf=round(report['duration_s'] / (cpu / 2), 3))


def main(argv: Optional[List[str]] = None) -> dict:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: List[str] = []
    if '--' in argv:
        at = argv.index('--')
        argv, extra = argv[:at], argv[at + 1:]
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--video', help='default: the six MA-52 demo clips joined')
    p.add_argument('--config', default=DEFAULT_CONFIG)
    p.add_argument('--checkpoint', help='default: random weights of --config')
    p.add_argument('--repeat', type=int, default=3)
    p.add_argument('--beside-training', action='store_true',
                   help='run a one-thread training job beside the measurement')
    p.add_argument('--out', default='work_dirs/realtime')
    p.add_argument('--demo-script', default='tools/demo.py',
                   help='the demo to time (e.g. an older copy, for an A/B under equal load)')
    args = p.parse_args(argv)
    video, checkpoint = prepare_inputs(args.video, args.config, args.checkpoint, args.out)
    busy = start_training(args.out) if args.beside_training else None
    try:
        if busy is not None:
            time.sleep(15)  # let it get past its start-up into training
            if busy.poll() is not None:
                raise RuntimeError('the training job beside the measurement stopped; see '
                                   f'{args.out}/beside_training.log')
        runs = [run_demo(video, args.config, checkpoint, osp.join(args.out, 'demo'), extra,
                         args.demo_script) for _ in range(args.repeat)]
    finally:
        if busy is not None:
            os.killpg(busy.pid, signal.SIGTERM)
            busy.wait()
    for i, r in enumerate(runs, 1):
        print(f'run {i}: {r["duration_s"]} s of video in {r["process_s"]} s (process) / '
              f'{r["pipeline_s"]} s (pipeline: pose {r["pose_s"]}, model {r["timeline_s"]}, '
              f'outputs {r["output_s"]}); {r["cpu_s"]} CPU s; pose on every '
              f'{r["pose_stride"]} frame(s)')
    result = dict(video=video, demo_script=args.demo_script,
                  beside_training=args.beside_training, demo_flags=extra,
                  runs=runs, process_rtf=statistics.median(r['process_rtf'] for r in runs),
                  pipeline_rtf=statistics.median(r['pipeline_rtf'] for r in runs),
                  two_core_bound_rtf=statistics.median(r['two_core_bound_rtf'] for r in runs))
    print(f'real-time factor (median of {len(runs)}): {result["process_rtf"]:.2f}x (process), '
          f'{result["pipeline_rtf"]:.2f}x (pipeline); CPU bound on 2 idle cores: '
          f'{result["two_core_bound_rtf"]:.2f}x'
          + (' with a training job beside it' if args.beside_training else ''))
    from mdn.utils.io import atomic_write
    with atomic_write(osp.join(args.out, 'realtime_factor.json'), 'w') as f:
        json.dump(result, f, indent=1)
    return result


if __name__ == '__main__':
    main()
