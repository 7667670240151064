"""csv_checks.py - the formula property of issue 16 for the CSV exports, shared by the API
test of the segment export (api/test_hardening.py) and the CLI test of `crmctl export
contacts` (cli/test_cli_import_export.py)."""
import csv
import io


def raw_cells(text):
    """The cells of a CSV text as they stand in the file (quotes included), row by row."""
    rows, cell, row, quoted = [], "", [], False
    for char in text:
        if char == '"':
            quoted = not quoted
        if not quoted and (char == "," or char == "\n"):
            row.append(cell[:-1] if char == "\n" and cell.endswith("\r") else cell)
            cell = ""
            if char == "\n":
                rows.append(row)
                row = []
            continue
        cell += char
    if cell or row:
        rows.append(row + [cell])
    return rows


def risky(piece):
    """Whether a spreadsheet would take `piece` for a formula (or a control)."""
    return piece[:1] in ("=", "+", "-", "@") or (piece != "" and ord(piece[0]) < 0x20)


def assert_pieces_inert(test, text):
    """The property of issue 16 on every cell of `text`: split at any of , ; tab, no piece
    starts with = + - @ or a control character; and a spreadsheet reading the file with
    any of those as its separator finds no field that starts so (after spaces and quotes)."""
    for row in raw_cells(text):
        for cell in row:
            for separator in ",;\t":
                for piece in cell.split(separator):
                    test.assertFalse(risky(piece), "cell %r, split at %r: %r"
                                     % (cell, separator, piece))
    for separator in ",;\t":
        for row in csv.reader(io.StringIO(text), delimiter=separator):
            for field in row:
                test.assertFalse(risky(field.lstrip(' "')), "read with %r: %r"
                                 % (separator, field))
