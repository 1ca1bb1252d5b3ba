from rwe.cli import main
from rwe.simulate import write_site


def test_check_accepts_a_good_extract(site_folder, capsys):
    assert main(["check", str(site_folder), "--site", "s1"]) == 0
    out = capsys.readouterr().out
    assert "patients.csv: 60 rows (UTF-8, comma-separated, decimal point)" in out
    assert "OK: 60 patients" in out


def test_check_lists_problems_and_fails(tmp_path, demo_tables, capsys):
    tables = {k: v.copy() for k, v in demo_tables.items()}
    tables["patients"]["email"] = "someone@example.org"
    write_site(tables, tmp_path)
    assert main(["check", str(tmp_path), "--site", "s1"]) == 1
    err = capsys.readouterr().err
    assert "s1/patients.csv, column 'email': looks like a direct identifier" in err
    assert "someone@example.org" not in err
