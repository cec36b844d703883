"""Legacy Word (.doc), Kingsoft .wps and RTF: LibreOffice headless converts them to DOCX."""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
from pathlib import Path

from reports.errors import ParseError


def check_ole(data: bytes) -> None:
    """Refuse OLE files that are encrypted or are not Word documents."""
    import olefile

    try:
        ole = olefile.OleFileIO(io.BytesIO(data))
    except Exception as e:
        raise ParseError(f"corrupt OLE (.doc/.wps) file: {e}") from e
    try:
        if ole.exists("EncryptedPackage"):
            raise ParseError("encrypted (password-protected) Office document")
        if ole.exists("Workbook") or ole.exists("Book"):
            raise ParseError("a spreadsheet (XLS), not a report document")
        if not ole.exists("WordDocument"):
            raise ParseError("OLE file is not a Word document (no WordDocument stream)")
        head = ole.openstream("WordDocument").read(12)
        if len(head) >= 12 and int.from_bytes(head[10:12], "little") & 0x0100:
            raise ParseError("encrypted (password-protected) Word document")
    finally:
        ole.close()


def soffice() -> str:
    path = shutil.which("soffice") or shutil.which("libreoffice")
    if not path:
        raise ParseError("LibreOffice (soffice) is needed to read .doc/.wps/.rtf files and is not installed")
    return path


def to_docx(data: bytes, suffix: str = ".doc", timeout: int = 180) -> bytes:
    """Convert with LibreOffice headless, with a private profile so parallel runs work."""
    with tempfile.TemporaryDirectory(prefix="nianbao-lo-") as tmp:
        src = Path(tmp, "input" + suffix)
        src.write_bytes(data)
        out_dir = Path(tmp, "out")
        cmd = [soffice(), f"-env:UserInstallation={Path(tmp, 'profile').as_uri()}", "--headless"]
        cmd += ["--convert-to", "docx:MS Word 2007 XML", "--outdir", str(out_dir), str(src)]
        try:
            subprocess.run(cmd, check=True, capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired as e:
            raise ParseError(f"LibreOffice timed out after {timeout}s converting the document") from e
        except subprocess.CalledProcessError as e:
            raise ParseError(f"LibreOffice could not convert the document: {e.stderr[-300:]!r}") from e
        out = out_dir / "input.docx"
        if not out.exists():
            raise ParseError("LibreOffice could not read the document (no output)")
        return out.read_bytes()
