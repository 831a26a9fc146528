# Ablation: without the global stream (the head sees only the fused entity tokens).
_base_ = './mdn_penn_action.py'
model = dict(global_stream=None)
