# Experiment: Micro-DualNet on NW-UCLA with mirroring, and joint-level partitioned attention in
# the entity encoder (each joint attends to the joints of its entities per frame and to its own
# trajectory) before the entity tokens are formed.
_base_ = './mdn_nw_ucla_flip.py'
model = dict(encoder=dict(joint_attention=dict(num_blocks=2, channels=32, num_heads=4)))
