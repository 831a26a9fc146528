"""DDP for CPU processes (gloo): MMEngine always passes ``device_ids=[LOCAL_RANK]``, which
DistributedDataParallel rejects for CPU modules."""
from mmengine.model import MMDistributedDataParallel

from mdn.registry import MODEL_WRAPPERS


@MODEL_WRAPPERS.register_module()
class CPUDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` that drops ``device_ids`` when the module is on the CPU."""

    def __init__(self, module, detect_anomalous_params: bool = False, **kwargs):
        if next(module.parameters()).device.type == 'cpu':
            kwargs.pop('device_ids', None)
            kwargs.pop('output_device', None)
        super().__init__(module=module, detect_anomalous_params=detect_anomalous_params,
                         **kwargs)
