"""A gallery a user keeps: `facegan enroll` their people, `facegan identify` them in photos."""
