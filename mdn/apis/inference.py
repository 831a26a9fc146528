"""Inference API: a recogniser from a config + checkpoint, then clips, videos or long recordings.

    model = init_recognizer('configs/micro_dualnet/mdn_synthetic.py', 'epoch_12.pth')
    result = recognize_clip(model, keypoints)                # [M,T,V,2] or [T,V,2]
    windows = recognize_timeline(model, keypoints, scores, fps=25, window_s=2, stride_s=0.5)
    segments = windows.segments(threshold=0.5)

Every input goes through the config's own test pipeline (normalise, sample, features, pack),
so inference sees clips exactly as evaluation did. Long recordings are scored window by
window, in batches of at most ``batch_size`` clips: only one batch of features exists at once.
"""
import os.path as osp
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.dataset import Compose
from torch import nn
from tqdm import tqdm

from mdn.layouts import get_layout
from mdn.utils.setup_env import register_all_modules

from .checkpoint import check_checkpoint_matches
from .config import ConfigError, load_config
from .timeline import WindowScores, window_bounds

REMOTE_PREFIXES = ('http://', 'https://', 's3://', 'open-mmlab://')


class LayoutMismatchError(ValueError):
    """Keypoints of another layout than the one the checkpoint was trained on."""


@dataclass
class Skeleton:
    """Poses of one recording: ``keypoint [M,T,V,2]`` pixels, ``keypoint_score [M,T,V]``."""
    keypoint: np.ndarray
    keypoint_score: np.ndarray
    fps: float
    name: str = 'input'
    source: str = ''
    layout: Optional[str] = None
    img_shape: Optional[Tuple[int, int]] = None
    frame_stride: int = 1

    @property
    def num_frames(self) -> int:
        return self.keypoint.shape[1]

    @property
    def duration(self) -> float:
        return self.num_frames / self.fps


@dataclass
class ClipResult:
    """One prediction: class probabilities, top label and per-entity routing weights."""
    scores: np.ndarray  # [C]
    label: int
    label_name: str
    entity_weights: np.ndarray  # [K, 2]: col 0 = ST, col 1 = TS
    entity_names: Tuple[str, ...]


# --------------------------------------------------------------------------- model
def init_recognizer(config: Union[str, Config], checkpoint: Optional[str] = None,
                    device: str = 'cpu', cfg_options: Optional[dict] = None,
                    compile: Union[None, bool, str, dict] = None) -> nn.Module:
    """Build the model of ``config`` and load ``checkpoint`` (path or URL) into it.

    A local checkpoint must fit the model exactly (``check_checkpoint_matches``), so a
    checkpoint of another layout or class count fails here with a message instead of
    predicting garbage. The model gets ``cfg``, ``test_pipeline`` and ``dataset_meta``
    (``classes`` from the checkpoint's meta, else the config, else ``class_i``).

    ``compile``: ``torch.compile`` the model's tensor core (True, a mode such as
    'reduce-overhead', or torch.compile arguments; None: the config's ``compile`` key, off by
    default). The first call of each input shape then compiles (seconds to minutes), so it
    pays for many windows of one shape (``recognize_timeline``), not for one clip.
    """
    register_all_modules(init_default_scope=False)
    from mdn.registry import MODELS
    if isinstance(config, Config):
        cfg = config.copy()
        if cfg_options:
            cfg.merge_from_dict(cfg_options)
    else:
        cfg = load_config(config, cfg_options)
    if 'model' not in cfg:
        raise ConfigError(f'{cfg.get("filename", config)}: no "model" in the config')
    with DefaultScope.overwrite_default_scope('mdn'):  # sub-modules resolve in mdn
        model = MODELS.build(cfg.model)
    meta: Dict[str, Any] = {}
    if checkpoint is not None:
        meta = _load_weights(model, checkpoint)
    classes = (meta.get('dataset_meta') or {}).get('classes') or config_classes(cfg)
    num_classes = model.head.num_classes if hasattr(model.head, 'num_classes') else None
    if not classes or (num_classes is not None and len(classes) != num_classes):
        classes = tuple(f'class_{i}' for i in range(num_classes or 0))
    model.cfg = cfg
    model.dataset_meta = dict(classes=tuple(classes))
    model.test_pipeline = build_test_pipeline(cfg)
    _set_compile(model, cfg, compile)
    return model.to(device).eval()


def _set_compile(model: nn.Module, cfg: Config, spec) -> None:
    """Compile the model as ``init_recognizer(compile=...)`` asks (see there)."""
    from mdn.models.recognizers.compiled_core import normalise_compile
    if spec is None:
        spec = cfg.get('compile', False)
        spec = spec.to_dict() if hasattr(spec, 'to_dict') else spec
    opts = normalise_compile(spec, 'init_recognizer(compile=...)')
    if opts is None:
        return
    if hasattr(model, 'set_compile'):
        model.set_compile(opts)
    else:  # a model without a tensor core of its own: compile its whole forward
        model.compile(**opts)


def _load_weights(model: nn.Module, checkpoint: str) -> dict:
    from mmengine.runner import load_checkpoint
    if not checkpoint.startswith(REMOTE_PREFIXES):
        if not osp.isfile(checkpoint):
            raise FileNotFoundError(f'checkpoint not found: {checkpoint}')
        check_checkpoint_matches(model, checkpoint)
    content = load_checkpoint(model, checkpoint, map_location='cpu', logger='silent')
    return content.get('meta', {}) if isinstance(content, dict) else {}


def config_classes(cfg: Config) -> Optional[Sequence[str]]:
    """Class names a config states itself (``classes`` or its test dataset's), else None."""
    dataset = (cfg.get('test_dataloader') or {}).get('dataset') or {}
    return (cfg.get('classes') or dataset.get('classes')
            or (dataset.get('metainfo') or {}).get('classes'))


def build_test_pipeline(cfg: Config) -> Compose:
    """The pipeline ``tools/test.py`` evaluates with: the test dataset's (``test_pipeline``
    when the config has no test dataloader), as a callable."""
    from mdn.registry import TRANSFORMS
    steps = ((cfg.get('test_dataloader') or {}).get('dataset') or {}).get('pipeline')
    if not steps:
        steps = cfg.get('test_pipeline')
    if not steps:
        raise ConfigError(f'{cfg.get("filename", "<config>")}: no test pipeline to prepare '
                          'inputs with')
    return Compose([TRANSFORMS.build(step) for step in steps])


# --------------------------------------------------------------------------- inputs
def as_skeleton(keypoints: np.ndarray, scores: Optional[np.ndarray] = None, fps: float = 30.0,
                name: str = 'input', layout: Optional[str] = None) -> Skeleton:
    """``[M,T,V,2]`` / ``[T,V,2]`` keypoints (or ``[..., 3]`` with the score last) and
    optional ``[M,T,V]`` / ``[T,V]`` scores -> a :class:`Skeleton` with NaNs zeroed."""
    kp = np.asarray(keypoints, dtype=np.float32)
    if kp.ndim == 3:
        kp = kp[None]
    if kp.ndim != 4 or kp.shape[-1] not in (2, 3):
        raise ValueError(f'{name}: keypoints must be [M,T,V,2] or [T,V,2] (or a score as '
                         f'a 3rd channel), got shape {np.shape(keypoints)}')
    if scores is None:
        scores = kp[..., 2] if kp.shape[-1] == 3 else np.ones(kp.shape[:3], np.float32)
    kp = kp[..., :2]
    sc = np.asarray(scores, dtype=np.float32)
    if sc.ndim == 2:
        sc = sc[None]
    if sc.shape != kp.shape[:3]:
        raise ValueError(f'{name}: scores {sc.shape} do not match keypoints {kp.shape[:3]}')
    if kp.shape[1] == 0:
        raise ValueError(f'{name}: the skeleton has no frames')
    bad = ~np.isfinite(kp).all(-1) | ~np.isfinite(sc)
    if bad.any():
        kp, sc = kp.copy(), sc.copy()
        kp[bad], sc[bad] = 0.0, 0.0
    return Skeleton(kp, sc, float(fps), name=name, layout=layout)


def load_skeleton(path: str, fps: Optional[float] = None) -> Skeleton:
    """A ready skeleton file: a ``.pkl`` annotation file with one clip, or an ``.npz`` with
    ``keypoints (T,V,3)`` or ``(M,T,V,3)`` (x, y, score) and optionally ``fps``.

    ``fps`` is taken from the file; the argument fills in where the file has none.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'skeleton file not found: {path}')
    name = osp.splitext(osp.basename(path))[0]
    if path.endswith('.npz'):
        return _load_npz_skeleton(path, name, fps)
    if path.endswith(('.pkl', '.pickle')):
        return _load_pkl_skeleton(path, fps)
    raise ValueError(f'{path}: unknown skeleton format; expected a video, a .pkl annotation '
                     'file with one clip or an .npz with "keypoints"')


def _load_npz_skeleton(path: str, name: str, fps: Optional[float]) -> Skeleton:
    import zipfile
    try:
        with np.load(path, allow_pickle=False) as npz:
            files = set(npz.files)
            if 'keypoints' not in files:
                hint = (' (a stacked file of many clips: pick one clip first)'
                        if 'offsets' in files else '')
                raise KeyError(f'{path}: no "keypoints" array{hint}; found {sorted(files)}')
            keypoints = npz['keypoints']  # read once: every access decompresses again
            file_fps = float(npz['fps']) if 'fps' in files else None
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        raise ValueError(f'{path}: not a readable npz file: {err}') from None
    fps = file_fps or fps
    if not fps:
        raise ValueError(f'{path}: the file does not store its frame rate; pass fps '
                         '(--fps), e.g. 25 for iMiGUE')
    if keypoints.ndim not in (3, 4) or keypoints.shape[-1] != 3:
        raise ValueError(f'{path}: "keypoints" must be (T,V,3) or (M,T,V,3) with x, y, '
                         f'score; got {keypoints.shape}')
    skeleton = as_skeleton(keypoints, fps=fps, name=name)
    skeleton.source = path
    return skeleton


def _load_pkl_skeleton(path: str, fps: Optional[float]) -> Skeleton:
    from mdn.datasets.annotation_io import load_pickle_annotations
    clips, meta = load_pickle_annotations(path)
    if len(clips) != 1:
        names = [c.get('frame_dir', '?') for c in clips[:3]]
        raise ValueError(f'{path}: holds {len(clips)} clips {names}; the demo takes a file '
                         'with exactly one clip')
    clip = clips[0]
    fps = clip.get('fps') or fps
    if not fps:
        raise ValueError(f'{path}: clip {clip.get("frame_dir")} has no "fps"; pass fps (--fps)')
    if 'keypoint' not in clip:
        raise KeyError(f'{path}: clip {clip.get("frame_dir")} has no "keypoint" array')
    skeleton = as_skeleton(clip['keypoint'], clip.get('keypoint_score'), fps,
                           name=str(clip.get('frame_dir', 'input')),
                           layout=meta.get('keypoint_layout'))
    skeleton.source, skeleton.img_shape = path, clip.get('img_shape')
    skeleton.frame_stride = int(clip.get('frame_stride', 1))
    return skeleton


def extract_skeleton(video: str, backend: Optional[dict] = None, stride: int = 1,
                     max_people: int = 1, min_score: float = 0.3, progress: bool = False
                     ) -> Skeleton:
    """Whole-body poses of ``video`` with a pose backend (default: offline MediaPipe).

    Raises ``mdn.pose.VideoError`` for a missing or unreadable video, or one with no person.
    """
    from mdn.pose import VideoItem, build_backend, extract_video
    from mdn.pose.backends import LAYOUT
    spec = dict(backend or dict(type='mediapipe'))
    clip = extract_video(VideoItem(video), build_backend(spec), stride=stride,
                         max_people=max_people, min_score=min_score, progress=progress)
    skeleton = as_skeleton(clip['keypoint'], clip['keypoint_score'], clip['fps'],
                           name=clip['frame_dir'], layout=LAYOUT)
    skeleton.source, skeleton.img_shape = video, clip['img_shape']
    skeleton.frame_stride = stride
    return skeleton


def entity_names(model: nn.Module) -> Tuple[str, ...]:
    """The model's entities (empty for baselines without an entity router)."""
    return tuple(getattr(model, 'entity_names', ()))


def check_layout(model: nn.Module, skeleton: Skeleton) -> None:
    """Refuse keypoints whose layout differs from the checkpoint's."""
    layout = model.layout
    where = skeleton.source or skeleton.name
    if skeleton.layout is not None and get_layout(skeleton.layout).name != layout.name:
        raise LayoutMismatchError(
            f'{where}: keypoints are in layout "{skeleton.layout}" but the checkpoint was '
            f'trained on "{layout.name}"; use a config/checkpoint for "{skeleton.layout}"')
    num = skeleton.keypoint.shape[2]
    if num != layout.num_keypoints:
        raise LayoutMismatchError(
            f'{where}: {num} keypoints per frame, but the checkpoint was trained on layout '
            f'"{layout.name}" with {layout.num_keypoints}; use a config/checkpoint for this '
            'layout (wrong layout for the checkpoint)')


# --------------------------------------------------------------------------- recognition
def prepare_windows(model: nn.Module, skeleton: Skeleton, bounds: np.ndarray
                    ) -> Dict[str, list]:
    """Run each window ``[start, end)`` of ``skeleton`` through the test pipeline; the
    ``dict(inputs, data_samples)`` that ``model.test_step`` takes."""
    inputs, samples = [], []
    for start, end in bounds:
        results = dict(keypoint=skeleton.keypoint[:, start:end],
                       keypoint_score=skeleton.keypoint_score[:, start:end],
                       total_frames=int(end - start), layout=model.layout.name,
                       fps=skeleton.fps, frame_dir=f'{skeleton.name}@{start}',
                       img_shape=skeleton.img_shape)
        if getattr(model, 'needs_frames', False):  # RGB stream: the window's video frames
            results.update(video_source(skeleton, int(start)))
        packed = model.test_pipeline(results)
        inputs.append(packed['inputs'])
        samples.append(packed['data_samples'])
    return dict(inputs=inputs, data_samples=samples)


def video_source(skeleton: Skeleton, start: int) -> Dict[str, Any]:
    """Where the RGB frames of skeleton frames ``start, ...`` are: skeleton frame t is video
    frame ``(start + t) * frame_stride`` of ``skeleton.source``."""
    from mdn.pose.inputs import is_video
    if not skeleton.source or not is_video(skeleton.source):
        raise ValueError(f'{skeleton.source or skeleton.name}: this model reads RGB frames, so '
                         'its input must be a video (poses are extracted from it), not a '
                         'skeleton file')
    return dict(video=skeleton.source, video_frame_offset=start * skeleton.frame_stride,
                frame_stride=skeleton.frame_stride)


def _predict(model: nn.Module, data: Dict[str, list]) -> Tuple[np.ndarray, np.ndarray]:
    with torch.no_grad():
        out = model.test_step(data)
    scores = torch.stack([s.pred_score for s in out]).float().cpu().numpy()
    if 'entity_weights' not in out[0]:  # baselines without entities (ST-GCN)
        return scores, np.zeros((len(out), 0, 2), np.float32)
    weights = torch.stack([s.entity_weights for s in out]).float().cpu().numpy()
    return scores, weights


def recognize_clip(model: nn.Module, keypoints: Union[np.ndarray, Skeleton],
                   scores: Optional[np.ndarray] = None, fps: float = 30.0,
                   layout: Optional[str] = None) -> ClipResult:
    """Classify one clip (the whole of it) of ``[M,T,V,2]`` / ``[T,V,2]`` keypoints.

    Raises ``ValueError`` for a clip without a single valid keypoint (score > 0, finite and
    plausible coordinates, not at (0, 0)): there is nothing to recognise, and a class
    "recognised" from zeros would be a silent wrong answer. Non-finite model scores too.
    """
    skeleton = (keypoints if isinstance(keypoints, Skeleton)
                else as_skeleton(keypoints, scores, fps, layout=layout))
    check_layout(model, skeleton)
    kp, sc = skeleton.keypoint, skeleton.keypoint_score
    with np.errstate(invalid='ignore'):
        valid = ((sc > 0) & np.isfinite(sc) & np.isfinite(kp).all(-1)
                 & (np.abs(kp) <= 1e6).all(-1) & (kp != 0).any(-1))
    if not valid.any():
        raise ValueError(f'{skeleton.source or skeleton.name}: no valid keypoint in the clip '
                         f'({kp.shape[1]} frames): every joint has score 0 or NaN/inf/zero '
                         'coordinates; refusing to recognise it (no person was detected?)')
    bounds = np.array([[0, skeleton.num_frames]])
    probs, weights = _predict(model, prepare_windows(model, skeleton, bounds))
    if not np.isfinite(probs[0]).all():
        raise ValueError(f'{skeleton.source or skeleton.name}: the model gave non-finite '
                         'scores (NaN/inf weights in the checkpoint, or implausible keypoints)')
    label = int(probs[0].argmax())
    return ClipResult(probs[0], label, model.dataset_meta['classes'][label], weights[0],
                      entity_names(model))


def recognize_video(model: nn.Module, video: str, backend: Optional[dict] = None,
                    stride: int = 1, progress: bool = False) -> Tuple[ClipResult, Skeleton]:
    """Pose-extract ``video`` (see :func:`extract_skeleton`) and classify it as one clip."""
    skeleton = extract_skeleton(video, backend, stride=stride, progress=progress)
    return recognize_clip(model, skeleton), skeleton


def person_present(skeleton: Skeleton, layout_name: str, min_points: int = 4) -> np.ndarray:
    """``[T]`` frames where the main person shows ``min_points`` head/torso keypoints."""
    layout = get_layout(layout_name)
    core = sorted(set(layout.entities['head']) | set(layout.entities['torso']))
    return (skeleton.keypoint_score[0][:, core] > 0).sum(-1) >= min(min_points, len(core))


def recognize_timeline(model: nn.Module, keypoints: Union[np.ndarray, Skeleton],
                       scores: Optional[np.ndarray] = None, fps: float = 30.0,
                       window_s: float = 2.0, stride_s: float = 0.5, batch_size: int = 64,
                       layout: Optional[str] = None, min_person: float = 0.5,
                       progress: bool = True) -> WindowScores:
    """Score sliding windows over a long recording, a batch at a time.

    ``batch_size`` bounds the clips in one forward pass: a window counts once, or
    ``num_clips`` times when the test pipeline draws several clips per window, so memory
    stays bounded whatever the pipeline and the recording's length. Windows where the main
    person is visible in fewer than ``min_person`` of the frames are not scored (NaN rows):
    they count as "no micro-action". Merge the windows into segments with
    ``result.segments(...)`` (``mdn.apis.timeline.merge_windows``).
    """
    skeleton = (keypoints if isinstance(keypoints, Skeleton)
                else as_skeleton(keypoints, scores, fps, layout=layout))
    check_layout(model, skeleton)
    if batch_size < 1:
        raise ValueError(f'batch_size must be >= 1, got {batch_size}')
    bounds = window_bounds(skeleton.num_frames, skeleton.fps, window_s, stride_s)
    present = np.concatenate([[0], np.cumsum(person_present(skeleton, model.layout.name))])
    seen = (present[bounds[:, 1]] - present[bounds[:, 0]]) / (bounds[:, 1] - bounds[:, 0])
    num_classes = len(model.dataset_meta['classes'])
    probs = np.full((len(bounds), num_classes), np.nan, np.float32)
    weights = np.full((len(bounds), len(entity_names(model)), 2), np.nan, np.float32)
    todo = list(np.flatnonzero(seen >= min_person))
    with tqdm(total=len(bounds), desc=f'{skeleton.name} windows', unit='win',
              disable=not progress) as bar:
        bar.update(len(bounds) - len(todo))
        step = 1  # windows per batch; known once a window shows its clips per window
        while todo:
            index, todo = np.array(todo[:step]), todo[step:]
            data = prepare_windows(model, skeleton, bounds[index])
            probs[index], weights[index] = _predict(model, data)
            first = data['inputs'][0]  # [clips, ...], or the RGB stream's dict of them
            step = max(1, batch_size // len(first['keypoint'] if isinstance(first, dict)
                                            else first))
            bar.update(len(index))
    return WindowScores(bounds, probs, weights, skeleton.fps, skeleton.num_frames,
                        class_names=tuple(model.dataset_meta['classes']),
                        entity_names=entity_names(model),
                        extra=dict(window_s=window_s, stride_s=stride_s,
                                   person_fraction=seen.astype(np.float32)))


def top_k(scores: np.ndarray, k: int) -> Tuple[np.ndarray, np.ndarray]:
    """``(indices [W,k], values [W,k])`` of the highest scores per row (NaN rows -> -1, NaN)."""
    k = min(k, scores.shape[-1])
    safe = np.where(np.isfinite(scores), scores, -np.inf)
    order = np.argsort(-safe, axis=-1, kind='stable')[:, :k]
    values = np.take_along_axis(scores, order, -1)
    order = np.where(np.isfinite(values), order, -1)
    return order, values


__all__: List[str] = [
    'init_recognizer', 'build_test_pipeline', 'config_classes', 'Skeleton', 'ClipResult',
    'LayoutMismatchError', 'as_skeleton', 'load_skeleton', 'extract_skeleton', 'check_layout',
    'prepare_windows', 'recognize_clip', 'recognize_video', 'recognize_timeline',
    'person_present', 'top_k']
