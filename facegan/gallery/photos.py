"""Photos to aligned face crops for `enroll` and `identify`: MTCNN onto the CelebA frame, cropped
as prep crops folder photos (facegan.data.decode.align_photo), so a gallery's faces look like the
faces its recognizer was trained and thresholded on."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from facegan.data.decode import DECODE_ERRORS, NO_FACE, align_photo, read_rgb

UNREADABLE = "cannot read the image (missing, not an image, or truncated); give a face photo (jpg, png)"


class PhotoReader:
    def __init__(self, image_size: int, min_face_prob: float):
        from facegan.data.alignment import MTCNNAligner

        self.image_size = image_size
        self.aligner = MTCNNAligner(min_prob=min_face_prob)

    def faces(self, paths: list[Path]) -> tuple[np.ndarray, list[Path], dict[Path, str]]:
        """(N x S x S x 3 uint8 crops of the photos with a face, their paths, {path: why} of the others)."""
        crops, used, failed = [], [], {}
        for path in paths:
            try:
                image = read_rgb(str(path))
            except DECODE_ERRORS:
                failed[path] = UNREADABLE
                continue
            face = align_photo(self.aligner, image, self.image_size)
            if face is None:
                failed[path] = NO_FACE
                continue
            crops.append(face.crop)
            used.append(path)
        shape = (len(crops), self.image_size, self.image_size, 3)
        return (np.stack(crops) if crops else np.zeros(shape, np.uint8)), used, failed
