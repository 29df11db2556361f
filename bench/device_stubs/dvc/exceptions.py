class DvcException(Exception):
    pass


class NotDvcRepoError(DvcException):
    pass


class InvalidArgumentError(DvcException):
    pass
