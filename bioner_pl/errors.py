"""One error type for everything a user can get wrong, printed without a traceback."""

from __future__ import annotations


class InputError(Exception):
    """Bad user input: names the file (and line) and says what is wrong and how to fix it."""

    def __init__(self, problem: str, path: object | None = None, line: int | None = None):
        self.problem, self.path, self.line = problem, path, line
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(where + problem)


def refused_pickle(err: Exception, path: object) -> InputError:
    """The one-line error for a checkpoint that torch's weights-only unpickler would not read: the
    callable the file asks for, where it names one (then nothing of the file ran)."""
    import re

    asked = re.search(r"GLOBAL ([\w.]+)", str(err))
    if asked:
        return InputError(f"refused: the file asks to call {asked.group(1)}, which no checkpoint of ours "
                          "needs; nothing of it ran", path)
    # torch's message is a paragraph; its reason is the line after "WeightsUnpickler error:"
    reason = re.search(r"WeightsUnpickler error:\s*(.+)", str(err)) or re.search(r"(.+)", str(err))
    return InputError(f"refused: not a checkpoint torch's weights-only loader reads "
                      f"({reason.group(1).strip()[:200] if reason else type(err).__name__}); nothing of it ran", path)


def first_line(err: BaseException, limit: int = 200) -> str:
    """What an exception says, as one line (for a message that must stay one line)."""
    lines = str(err).strip().splitlines()
    return lines[0][:limit] if lines else type(err).__name__


def causes(err: BaseException | None):
    """err, then what raised it, and so on (hydra.utils.instantiate and Lightning wrap errors)."""
    while err is not None:
        yield err
        err = err.__cause__ or err.__context__


def exits_cleanly(command):
    """Decorate a command: an InputError becomes one line on stderr and exit status 2."""
    import functools
    import sys

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except InputError as err:
            print(f"bioner-pl: error: {err}", file=sys.stderr)
            sys.exit(2)

    return wrapper
