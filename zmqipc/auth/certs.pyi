import os
from typing import Union

from typing_extensions import TypeAlias

__all__ = ["create_certificates", "load_certificate", "load_certificates"]

_Path: TypeAlias = Union[str, os.PathLike[str]]

def create_certificates(
    key_dir: _Path, name: str, metadata: dict[str, str] | None = ...
) -> tuple[str, str]: ...
def load_certificate(filename: _Path) -> tuple[bytes, bytes | None]: ...
def load_certificates(directory: _Path = ...) -> dict[bytes, bool]: ...
