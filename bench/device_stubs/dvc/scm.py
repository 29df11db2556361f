from dvc.exceptions import DvcException


class SCMError(DvcException):
    pass


class NoSCM:
    pass


class Git:
    root_dir = "."
