"""Pictures people can read: skeleton overlays, timelines and evaluation-dump analyses.

PNGs are drawn with matplotlib's Agg canvas (no display, no pyplot state); videos with
OpenCV. Every file is written under a temporary name and renamed when complete.
"""
from .analysis_plots import plot_confusion_matrix, plot_per_class_accuracy, plot_routing_heatmap
from .palette import ENTITY_RGB, entity_rgb, keypoint_colors
from .skeleton import SkeletonPainter, save_frame_png, write_skeleton_video
from .timeline_plot import plot_timeline

__all__ = ['plot_confusion_matrix', 'plot_per_class_accuracy', 'plot_routing_heatmap',
           'ENTITY_RGB', 'entity_rgb', 'keypoint_colors', 'SkeletonPainter', 'save_frame_png',
           'write_skeleton_video', 'plot_timeline']
