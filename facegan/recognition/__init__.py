"""Face recognizer: embedding backbones, margin heads, training, and verification metrics.

It measures what the generated variants add, and its embeddings drive the
editor's identity loss.
"""

from facegan.recognition.backbone import ARCHS, build_backbone

from facegan.train.device import to_input
from facegan.recognition.embed import embed_faces, load_recognizer, save_recognizer
from facegan.recognition.margin import ArcFace, CosFace, build_head
from facegan.recognition.verification import score_metrics, threshold_at_far, verification_metrics

__all__ = ["ARCHS", "ArcFace", "CosFace", "build_backbone", "build_head", "embed_faces", "load_recognizer",
           "save_recognizer", "score_metrics", "threshold_at_far", "to_input", "verification_metrics"]
