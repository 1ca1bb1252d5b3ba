from pathlib import Path

import pandas as pd
import pytest

from rwe.exceptions import InputError
from rwe.io import read_adam, read_extract_file, read_site, sha256


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_reads_plain_utf8(tmp_path):
    table, fmt = read_extract_file(_write(tmp_path / "a.csv", "patient_id,gfr\nP1,65.5\nP2,\n"))
    assert fmt.describe() == "UTF-8, comma-separated, decimal point"
    assert table["gfr"].tolist()[0] == "65.5"
    assert pd.isna(table["gfr"].tolist()[1])


def test_reads_utf8_with_bom(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(b"\xef\xbb\xbfpatient_id,age\nP1,70\n")
    table, fmt = read_extract_file(path)
    assert list(table.columns) == ["patient_id", "age"]  # the BOM is not part of the first name
    assert fmt.encoding == "UTF-8 with BOM"


def test_reads_cp1252_semicolon_and_decimal_comma(tmp_path):
    text = "patient_id;term;gfr\nP1;Übelkeit;65,5\nP2;Fatigue;70\n"
    table, fmt = read_extract_file(_write(tmp_path / "a.csv", text, "cp1252"))
    assert fmt.encoding == "cp1252"
    assert fmt.separator == ";"
    assert fmt.decimal == ","
    assert table["term"].tolist()[0] == "Übelkeit"
    assert table["gfr"].tolist() == ["65.5", "70"]


def test_semicolon_without_decimal_comma_keeps_points(tmp_path):
    table, fmt = read_extract_file(_write(tmp_path / "a.csv", "a;b\n1.5;2\n"))
    assert fmt.decimal == "."
    assert table["a"].tolist() == ["1.5"]


def test_blank_cells_are_missing_and_words_stay_text(tmp_path):
    """The reader blanks empty cells only: ``NA`` is missing in id and numeric columns
    (rwe.validate.blank_missing_words), but a site or regimen code may be called NA."""
    table, _ = read_extract_file(_write(tmp_path / "a.csv", "a,b\n NA , x \n,y\n"))
    assert table["a"].tolist()[0] == "NA"
    assert pd.isna(table["a"].tolist()[1])
    assert table["b"].tolist() == ["x", "y"]


def test_read_site_requires_patients(tmp_path):
    with pytest.raises(InputError, match="patients.csv"):
        read_site(tmp_path, "s1")


def test_read_site_records_provenance(site_folder):
    tables, inputs = read_site(site_folder, "s1")
    assert set(tables) == {"patients", "responses", "adverse_events", "labs"}
    assert (tables["patients"]["site"] == "s1").all()
    assert tables["patients"]["_row"].tolist()[:3] == [1, 2, 3]
    by_file = {i["file"]: i for i in inputs}
    assert by_file["patients.csv"]["sha256"] == sha256(site_folder / "patients.csv")
    assert by_file["patients.csv"]["rows"] == len(tables["patients"])


def test_read_adam_restores_nullable_flags(tmp_path):
    path = tmp_path / "adsl.csv"
    pd.DataFrame({"site": ["a", "a"], "patient_id": ["007", "8"], "gfr_le70": [1, None]}).to_csv(
        path, index=False
    )
    adsl = read_adam(path)
    assert str(adsl["gfr_le70"].dtype) == "Int64"
    assert adsl["patient_id"].tolist() == ["007", "8"]  # ids stay text
    assert adsl["gfr_le70"].isna().tolist() == [False, True]


def test_write_table_writes_the_bytes_of_to_csv(tmp_path):
    """The column-wise writer of large tables gives exactly pandas' ``to_csv`` output."""
    import numpy as np

    from rwe.io import FAST_WRITE_ROWS, write_table

    rng = np.random.default_rng(0)
    n = FAST_WRITE_ROWS + 5
    texts = ["P1", "P,2", 'P"3', "P\n4", "Übel", ""]
    floats = [0.1, 1e16, 1e-5, -0.0, 3.0, 1 / 3, 2.5e-300, np.inf, 11.200000000000001, np.nan]
    table = pd.DataFrame(
        {
            "site": pd.Categorical(["a"] * n),
            "patient_id": pd.Categorical(rng.choice(texts, n)),
            "term": pd.Series(rng.choice(["x", "y,z", None], n), dtype=object),
            "value": rng.choice(floats, n),
            "day": pd.array(
                np.where(rng.random(n) < 0.2, None, rng.integers(-400, 4000, n)), "Int64"
            ),
            "big": rng.integers(-(10**12), 10**12, n),
            "_row": np.arange(n),
        }
    )
    write_table(table, tmp_path / "fast.csv")
    table.to_csv(tmp_path / "pandas.csv", index=False)
    assert (tmp_path / "fast.csv").read_bytes() == (tmp_path / "pandas.csv").read_bytes()


def test_read_adam_text_as_category_keeps_values_and_types(tmp_path):
    from rwe.io import read_text_table, write_table

    path = tmp_path / "adlb.csv"
    path.write_text("site,patient_id,day,test,value,_row\na,007,-3,HGB,11.2,1\na,8,,PLT,1e-05,2\n")
    adlb = read_adam(path, ["site", "patient_id", "day", "test", "value"], text_as_category=True)
    assert list(adlb.columns) == ["site", "patient_id", "day", "test", "value"]
    assert adlb["patient_id"].tolist() == ["007", "8"]  # ids stay text
    assert str(adlb["day"].dtype) == "Int64"
    assert adlb["day"].isna().tolist() == [False, True]
    assert adlb["value"].tolist() == [11.2, 1e-05]
    write_table(read_text_table(path), tmp_path / "copy.csv")  # passed through as text
    assert (tmp_path / "copy.csv").read_text() == (
        "site,patient_id,day,test,value\na,007,-3,HGB,11.2\na,8,,PLT,1e-05\n"
    )


@pytest.mark.parametrize("kernel_copy", [True, False], ids=["copy_file_range", "python"])
def test_concatenate_csv_keeps_the_first_header_and_copies_bytes(
    tmp_path, monkeypatch, kernel_copy
):
    import os

    from rwe.io import concatenate_csv

    if not kernel_copy:  # a system without os.copy_file_range: copied through Python

        def unsupported(*args):
            raise OSError("not supported")

        monkeypatch.setattr(os, "copy_file_range", unsupported, raising=False)
    a = _write(tmp_path / "a.csv", "site,x\na,1.10\na,\n")
    b = _write(tmp_path / "b.csv", 'site,x\nb,"2,5"\n')
    concatenate_csv([a, b], tmp_path / "out.csv", block=3)
    assert (tmp_path / "out.csv").read_text() == 'site,x\na,1.10\na,\nb,"2,5"\n'


def test_concatenate_csv_refuses_another_header(tmp_path):
    from rwe.io import concatenate_csv

    a = _write(tmp_path / "a.csv", "site,x\na,1\n")
    b = _write(tmp_path / "b.csv", "site,y\nb,2\n")
    with pytest.raises(ValueError, match="another header"):
        concatenate_csv([a, b], tmp_path / "out.csv")


def test_pool_csv_lines_up_optional_columns_by_name(tmp_path):
    from rwe.io import pool_csv

    a = _write(tmp_path / "a.csv", "site,age,flag\na,61,1\n")
    b = _write(tmp_path / "b.csv", "site,age,exposure_auc,flag\nb,70,0.25,\n")
    pool_csv([a, b], tmp_path / "out.csv")
    assert (tmp_path / "out.csv").read_text() == (
        "site,age,flag,exposure_auc\na,61,1,\nb,70,,0.25\n"
    )
