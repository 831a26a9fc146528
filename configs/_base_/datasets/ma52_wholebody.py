# MA-52 (Guo et al., TCSVT 2024): 52 actions in 7 body groups, one seated person.
# Skeletons: COCO-WholeBody 133 from tools/extract_pose.py + tools/data/ma52_converter.py
# (docs/data_preparation.md). Official splits: train 11,250 / val 5,586 / test 5,586 (test
# labels withheld: submit tools/analysis/ma52_submission.py output to the server).
_base_ = './wholebody_micro_action.py'
data = dict(ann_file='data/skeleton/ma52_wholebody.pkl', layout='coco_wholebody_133',
            num_classes=52)
train_dataloader = dict(dataset=dict(**data, split='train'))
val_dataloader = dict(dataset=dict(**data, split='val'))
test_dataloader = dict(dataset=dict(**data, split='test'))
val_evaluator = dict(_delete_=True, type='MA52Metric')
test_evaluator = val_evaluator
