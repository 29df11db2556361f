"""The attribute editor GAN: one conditional generator for eyeglasses, smiling, young and yaw."""

from facegan.editor.edit import edit_faces, edit_image, judged_attributes, load_editor, save_editor
from facegan.editor.stage import train_editor_stage

__all__ = ["edit_faces", "edit_image", "judged_attributes", "load_editor", "save_editor", "train_editor_stage"]
