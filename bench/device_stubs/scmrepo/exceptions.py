class SCMError(Exception):
    pass
