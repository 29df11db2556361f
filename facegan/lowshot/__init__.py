"""The low-shot protocol: enroll novel identities from k photos, recognize the rest."""
