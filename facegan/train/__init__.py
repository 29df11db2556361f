"""Training machinery shared by every model: below the concept packages."""
