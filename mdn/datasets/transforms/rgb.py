"""RGB transforms of the optional RGB entity stream: entity boxes from keypoints, frames read in
order from the clip's video on the pose frames' time base, resize/crop/flip that move the boxes
with the pixels, and packing of keypoints + frames + boxes.

A pose pipeline with RGB (``configs/micro_dualnet/mdn_ma52_rgbpose.py``)::

    EntityBoxes -> NormalizeSkeleton -> UniformSampleFrames -> [pose augmentation, RandomFlip]
    -> GenSkeletonFeatures -> DecodeVideoFrames -> FramesResizeCrop -> FramesFlip
    -> PackRGBPoseInputs

``EntityBoxes`` runs first, on pixel keypoints of every frame (normalisation replaces them);
``DecodeVideoFrames`` picks the boxes of the frames it reads through ``frame_inds``, so the box
and the frame of one time step always come from the same video frame. ``FramesFlip`` follows
the pose ``RandomFlip`` (``results['flipped']``), so the flipped hand box and the flipped hand
keypoints are one entity.
"""
import os.path as osp
import warnings
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np
import torch
from mmcv.transforms import BaseTransform

from mdn.layouts import ENTITY_ORDER, get_layout
from mdn.registry import TRANSFORMS

from .formatting import PackMicroActionInputs


class FrameReadError(RuntimeError):
    """A video that is missing, cannot be opened, or ends before a frame the clip needs."""


def entity_boxes(keypoint: np.ndarray, score: np.ndarray, indices: Sequence[Sequence[int]],
                 padding: float = 0.1, min_size: float = 32.0, score_thr: float = 0.0,
                 img_shape: Optional[Tuple[int, int]] = None
                 ) -> Tuple[np.ndarray, np.ndarray]:
    """Per entity the box of its present keypoints: ``keypoint [..., V, 2]`` pixels and
    ``score [..., V]`` -> ``boxes [..., K, 4]`` (x1, y1, x2, y2) and ``valid [..., K]``.

    A keypoint is present when its score > ``score_thr`` and its coordinates are finite and
    not (0, 0). Each side grows by ``padding`` times the box's longer side; a side shorter than
    ``min_size`` pixels grows to it about its centre (one present wrist still gives a hand
    box). With ``img_shape (H, W)`` boxes are clipped to the image and a box left with no area
    is invalid. An entity without any present keypoint is invalid: its box is zeros, never a
    guess.
    """
    kp = np.asarray(keypoint, np.float64)[..., :2]
    with np.errstate(invalid='ignore'):
        present = ((np.asarray(score) > score_thr) & np.isfinite(kp).all(-1)
                   & (kp != 0).any(-1))
    lead = kp.shape[:-2]
    boxes = np.zeros(lead + (len(indices), 4), np.float32)
    valid = np.zeros(lead + (len(indices),), bool)
    for k, idx in enumerate(indices):
        idx = list(idx)
        p = present[..., idx]  # [..., n]
        pts = np.where(p[..., None], kp[..., idx, :], np.nan)
        any_p = p.any(-1)
        with warnings.catch_warnings():  # all-NaN rows (no present keypoint) are invalid
            warnings.simplefilter('ignore', RuntimeWarning)
            lo, hi = np.nanmin(pts, -2), np.nanmax(pts, -2)  # [..., 2]
        size = (hi - lo).max(-1, keepdims=True)
        lo, hi = lo - padding * size, hi + padding * size
        centre, half = (lo + hi) / 2, np.maximum((hi - lo) / 2, min_size / 2)
        lo, hi = centre - half, centre + half
        if img_shape is not None:
            H, W = img_shape[:2]
            lo = np.clip(lo, 0, [W, H])
            hi = np.clip(hi, 0, [W, H])
        ok = any_p & ((hi - lo) > 0).all(-1)
        box = np.concatenate([lo, hi], -1)
        boxes[..., k, :] = np.where(ok[..., None], box, 0.0)
        valid[..., k] = ok
    return boxes, valid


@TRANSFORMS.register_module()
class EntityBoxes(BaseTransform):
    """One box per canonical entity (``mdn.layouts.ENTITY_ORDER``: face, head, torso, left
    hand, right hand, lower body), person and frame, from the pixel keypoints (see
    :func:`entity_boxes`). All six are made whatever the model's entity set; the RGB encoder
    picks its own, so one pipeline serves MA-52 (6 entities) and iMiGUE (5).

    Run it before ``NormalizeSkeleton``: it needs pixel coordinates.

    Required keys: keypoint [M,T,V,2] pixels, keypoint_score [M,T,V], layout
    Optional keys: img_shape (H, W): boxes are clipped to it when ``clip``
    Added keys: entity_boxes [M,T,6,4] float32, entity_box_valid [M,T,6] bool

    Args:
        padding / min_size / score_thr: see :func:`entity_boxes`.
        clip: clip the boxes to ``img_shape`` when it is known.
    """

    def __init__(self, padding: float = 0.1, min_size: float = 32.0, score_thr: float = 0.0,
                 clip: bool = True):
        if padding < 0 or min_size < 0:
            raise ValueError(f'EntityBoxes padding and min_size must be >= 0, got {padding}, '
                             f'{min_size}')
        self.padding, self.min_size, self.score_thr, self.clip = (padding, min_size,
                                                                  score_thr, clip)

    def transform(self, results: dict) -> dict:
        partition = get_layout(results['layout']).partition(list(ENTITY_ORDER))
        shape = results.get('img_shape') if self.clip else None
        boxes, valid = entity_boxes(results['keypoint'], results['keypoint_score'],
                                    partition.indices, self.padding, self.min_size,
                                    self.score_thr, shape)
        results.update(entity_boxes=boxes, entity_box_valid=valid)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(padding={self.padding}, min_size={self.min_size}, '
                f'score_thr={self.score_thr}, clip={self.clip})')


def read_frames(path: str, indices: Sequence[int]) -> np.ndarray:
    """RGB frames ``indices`` of ``path`` as ``[len(indices), H, W, 3]`` uint8.

    The video is read in order: ``grab()`` skips a frame without converting it, ``retrieve()``
    decodes the wanted ones (seeking with ``CAP_PROP_POS_FRAMES`` was 3x slower and is
    inexact on some codecs). Repeated indices reuse the decoded frame.
    """
    if not osp.isfile(path):
        raise FrameReadError(f'{path}: video not found')
    wanted = np.asarray(indices, dtype=np.int64)
    if wanted.size == 0:
        raise ValueError(f'{path}: no frame indices to read')
    if wanted.min() < 0:
        raise FrameReadError(f'{path}: negative frame index {int(wanted.min())}')
    cap = cv2.VideoCapture(path)
    if not cap.isOpened():
        cap.release()
        raise FrameReadError(f'{path}: OpenCV cannot open it (corrupt file or unknown codec)')
    needed, frames, index = set(wanted.tolist()), {}, 0
    last = int(wanted.max())
    try:
        while index <= last:
            if not cap.grab():
                raise FrameReadError(f'{path}: the video ends after {index} frames, but frame '
                                     f'{last} is needed (truncated video, or a clip whose '
                                     'poses do not belong to it?)')
            if index in needed:
                ok, frame = cap.retrieve()
                if not ok or frame is None:
                    raise FrameReadError(f'{path}: frame {index} cannot be decoded')
                frames[index] = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            index += 1
    finally:
        cap.release()
    return np.stack([frames[i] for i in wanted.tolist()])


@TRANSFORMS.register_module()
class DecodeVideoFrames(BaseTransform):
    """Read ``num_frames`` RGB frames per sampled clip from the clip's video, on the time base
    of the pose frames.

    Of each clip's ``clip_len`` sampled pose frames, the ones at the centres of ``num_frames``
    equal stretches are read (positions ``floor((i + 0.5) * clip_len / num_frames)``): pose
    step t then pairs with RGB step ``floor(t * num_frames / clip_len)``, the rule the model's
    token fusion uses. Pose frame f of a clip is video frame
    ``video_frame_offset + f * frame_stride`` (a clip cut from a longer video, poses extracted
    every ``frame_stride``-th frame). The entity boxes of exactly those frames are kept.

    The video is ``results['video']``, else ``video_template.format(**results)`` (e.g.
    ``'{frame_dir}.mp4'``); a relative one is joined to ``results['video_root']`` (the
    dataset's ``data_prefix=dict(video=...)``), else to ``video_root``.

    Required keys: frame_inds, clip_len, num_clips, video or frame_dir
    Optional keys: video_root, video_frame_offset (0), frame_stride (1), entity_boxes,
        entity_box_valid
    Added keys: imgs [num_clips*num_frames, H, W, 3] uint8 RGB, rgb_clip_len, frame_shape
    Modified keys: entity_boxes [M, num_clips*num_frames, K, 4], entity_box_valid
    """

    def __init__(self, num_frames: int = 8, video_root: Optional[str] = None,
                 video_template: Optional[str] = None):
        if num_frames < 1:
            raise ValueError(f'num_frames must be >= 1, got {num_frames}')
        self.num_frames, self.video_root, self.video_template = (num_frames, video_root,
                                                                  video_template)

    def video_path(self, results: dict) -> str:
        video = results.get('video')
        if video is None and self.video_template is not None:
            video = self.video_template.format(**results)
        if video is None:
            raise KeyError(f'clip {results.get("frame_dir", "?")}: no "video" field and no '
                           'video_template; the RGB stream needs each clip\'s video (rerun the '
                           'dataset converter, or set DecodeVideoFrames.video_template)')
        video = str(video)
        root = results.get('video_root') or self.video_root
        if root and not osp.isabs(video):
            video = osp.join(root, video)
        return video

    def transform(self, results: dict) -> dict:
        clip_len, num_clips = results['clip_len'], results.get('num_clips', 1)
        n = self.num_frames
        if n > clip_len:
            raise ValueError(f'DecodeVideoFrames num_frames={n} exceeds clip_len={clip_len}')
        pos = np.floor((np.arange(n) + 0.5) * clip_len / n).astype(int)
        pos = (np.arange(num_clips)[:, None] * clip_len + pos).reshape(-1)
        raw = np.asarray(results['frame_inds'])[pos]
        offset = int(results.get('video_frame_offset', 0))
        stride = int(results.get('frame_stride', 1))
        path = self.video_path(results)
        imgs = read_frames(path, offset + raw * stride)
        results.update(imgs=imgs, rgb_clip_len=n, frame_shape=imgs.shape[1:3])
        if 'entity_boxes' in results:
            results['entity_boxes'] = results['entity_boxes'][:, raw]
            results['entity_box_valid'] = results['entity_box_valid'][:, raw]
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_frames={self.num_frames}, '
                f'video_root={self.video_root!r})')


@TRANSFORMS.register_module()
class FramesResizeCrop(BaseTransform):
    """Resize the short side to ``scale``, then crop ``crop_size`` (centre, or random with
    ``random_crop``), moving the entity boxes with the pixels (boxes clipped to the crop; a
    box left with no area becomes invalid). One crop per clip, so frames stay aligned.

    Required keys: imgs [N,H,W,3]
    Optional keys: entity_boxes, entity_box_valid
    Modified keys: imgs [N,crop,crop,3], entity_boxes, entity_box_valid
    Added keys: crop_box (x1, y1, x2, y2 of the crop in original pixels)
    """

    def __init__(self, scale: int = 256, crop_size: int = 224, random_crop: bool = False):
        if crop_size > scale:
            raise ValueError(f'crop_size {crop_size} is larger than the short side {scale}')
        self.scale, self.crop_size, self.random_crop = scale, crop_size, random_crop

    def transform(self, results: dict) -> dict:
        imgs = results['imgs']
        H, W = imgs.shape[1:3]
        factor = self.scale / min(H, W)
        new_h, new_w = max(self.scale, round(H * factor)), max(self.scale, round(W * factor))
        c = self.crop_size
        if self.random_crop:
            top, left = np.random.randint(0, new_h - c + 1), np.random.randint(0, new_w - c + 1)
        else:
            top, left = (new_h - c) // 2, (new_w - c) // 2
        sx, sy = new_w / W, new_h / H
        out = np.empty((len(imgs), c, c, 3), np.uint8)
        for i, img in enumerate(imgs):
            resized = cv2.resize(img, (new_w, new_h), interpolation=cv2.INTER_AREA
                                 if factor < 1 else cv2.INTER_LINEAR)
            out[i] = resized[top:top + c, left:left + c]
        results['imgs'] = out
        results['crop_box'] = (left / sx, top / sy, (left + c) / sx, (top + c) / sy)
        if 'entity_boxes' in results:
            boxes = results['entity_boxes'] * np.array([sx, sy, sx, sy], np.float32)
            boxes = boxes - np.array([left, top, left, top], np.float32)
            boxes = np.clip(boxes, 0, c)
            valid = results['entity_box_valid'] & (boxes[..., 2] > boxes[..., 0]) & (
                boxes[..., 3] > boxes[..., 1])
            results['entity_boxes'] = np.where(valid[..., None], boxes, 0).astype(np.float32)
            results['entity_box_valid'] = valid
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(scale={self.scale}, crop_size={self.crop_size}, '
                f'random_crop={self.random_crop})')


@TRANSFORMS.register_module()
class FramesFlip(BaseTransform):
    """Mirror the frames and the entity boxes, and swap the left/right entities' boxes.

    With a pose ``RandomFlip`` earlier in the pipeline its decision (``flipped``) is followed,
    so keypoints and pixels flip together: after the flip the "left_hand" keypoints and the
    "left_hand" box are both the mirrored right hand. Without one, flips with ``prob``.

    Required keys: imgs [N,H,W,3], layout when boxes are present
    Optional keys: flipped, entity_boxes, entity_box_valid
    Modified keys: imgs, entity_boxes, entity_box_valid
    Added keys: flipped (when absent)
    """

    def __init__(self, prob: float = 0.5):
        self.prob = prob

    def transform(self, results: dict) -> dict:
        if 'flipped' not in results:
            results['flipped'] = bool(np.random.rand() < self.prob)
        if not results['flipped']:
            return results
        imgs = results['imgs']
        W = imgs.shape[2]
        results['imgs'] = np.ascontiguousarray(imgs[:, :, ::-1])
        if 'entity_boxes' in results:
            order = get_layout(results['layout']).partition(
                list(ENTITY_ORDER)).flip_permutation
            boxes = results['entity_boxes'][..., order, :].copy()
            valid = results['entity_box_valid'][..., order]
            x1 = boxes[..., 0].copy()
            boxes[..., 0], boxes[..., 2] = W - boxes[..., 2], W - x1
            results['entity_boxes'] = np.where(valid[..., None], boxes, 0).astype(np.float32)
            results['entity_box_valid'] = valid
        return results


@TRANSFORMS.register_module()
class PackRGBPoseInputs(PackMicroActionInputs):
    """Pack keypoints as :class:`PackMicroActionInputs` does, plus frames and boxes:
    ``inputs = dict(keypoint [num_clips*M, L, V, C], imgs [num_clips, n, 3, H, W] uint8,
    boxes [num_clips*M, n, K, 4], box_valid [num_clips*M, n, K])`` (clip-major like the
    keypoints; people beyond the data get invalid boxes).

    Required keys: keypoint, imgs, entity_boxes, entity_box_valid, rgb_clip_len, num_clips
    Added keys: inputs (a dict), data_samples
    """

    def transform(self, results: dict) -> dict:
        missing = [k for k in ('imgs', 'entity_boxes', 'rgb_clip_len') if k not in results]
        if missing:
            raise KeyError(f'clip {results.get("frame_dir", "?")}: PackRGBPoseInputs needs '
                           f'{missing}; put EntityBoxes first and DecodeVideoFrames before it')
        packed = super().transform(results)
        num_clips, n = results.get('num_clips', 1), results['rgb_clip_len']
        M = self.num_people
        imgs = results['imgs']
        imgs = imgs.reshape(num_clips, n, *imgs.shape[1:]).transpose(0, 1, 4, 2, 3)
        boxes, valid = results['entity_boxes'][:M], results['entity_box_valid'][:M]
        if boxes.shape[0] < M:
            pad = M - boxes.shape[0]
            boxes = np.concatenate([boxes, np.zeros((pad, *boxes.shape[1:]), boxes.dtype)])
            valid = np.concatenate([valid, np.zeros((pad, *valid.shape[1:]), bool)])
        K = boxes.shape[2]
        boxes = boxes.reshape(M, num_clips, n, K, 4).transpose(1, 0, 2, 3, 4)
        valid = valid.reshape(M, num_clips, n, K).transpose(1, 0, 2, 3)
        packed['inputs'] = dict(
            keypoint=packed['inputs'],
            imgs=torch.from_numpy(np.ascontiguousarray(imgs)),
            boxes=torch.from_numpy(np.ascontiguousarray(boxes).reshape(num_clips * M, n, K, 4)),
            box_valid=torch.from_numpy(np.ascontiguousarray(valid).reshape(num_clips * M, n,
                                                                             K)))
        return packed
