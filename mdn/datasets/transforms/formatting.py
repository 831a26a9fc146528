"""Pack a clip into the model's input tensor and its data sample."""
import numpy as np
import torch
from mmcv.transforms import BaseTransform

from mdn.registry import TRANSFORMS
from mdn.structures import MicroActionDataSample


@TRANSFORMS.register_module()
class PackMicroActionInputs(BaseTransform):
    """Reshape ``[M, num_clips*L, V, C]`` to ``inputs [num_clips*M, L, V, C]`` and wrap the
    label and meta information in a :class:`MicroActionDataSample`.

    ``num_people`` fixes M: the first M people are kept (the pose stage stores the main
    person first) and missing ones are zero-padded, so every clip in a batch has one shape.

    Required keys: keypoint, label (optional in inference), clip_len, num_clips
    Added keys: inputs, data_samples
    """

    def __init__(self, num_people: int = 1, meta_keys=('frame_dir', 'total_frames', 'num_clips', 'layout',
                                  'img_shape', 'fps', 'frame_inds')):
        if num_people < 1:
            raise ValueError(f'num_people must be >= 1, got {num_people}')
        self.num_people, self.meta_keys = num_people, tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        kp = results['keypoint'][:self.num_people]
        if kp.shape[0] < self.num_people:
            pad = np.zeros((self.num_people - kp.shape[0], *kp.shape[1:]), kp.dtype)
            kp = np.concatenate([kp, pad])
        num_people, total, num_joints, channels = kp.shape
        num_clips = results.get('num_clips', 1)
        clip_len = results.get('clip_len', total)
        kp = kp.reshape(num_people, num_clips, clip_len, num_joints, channels)
        kp = np.ascontiguousarray(kp.transpose(1, 0, 2, 3, 4)).reshape(
            num_clips * num_people, clip_len, num_joints, channels)
        sample = MicroActionDataSample()
        if results.get('label') is not None:
            sample.set_gt_label(results['label'])
        sample.set_metainfo({k: results[k] for k in self.meta_keys if k in results})
        return dict(inputs=torch.from_numpy(kp), data_samples=sample)
