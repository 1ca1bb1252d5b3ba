"""`rwe check --config` reads every site with the options its workflow site job gets (issue 13).

The workflow's side of the parity (the same extracts through Snakemake's site job) is
``tests/workflow/test_reliability_workflow.py``.
"""

from __future__ import annotations

import yaml

from bad_extracts import repeat_row
from rwe.cli import main as rwe_main
from rwe.config import check_config, site_options
from rwe.simulate import SHORT_REGIMEN_CODES, simulate_study


def coded_sites(folder):
    """Two coded extracts (short regimen codes; sex as 1/2 with calendar dates) and their entries."""
    simulate_study(40, 41, 2, folder, ["a", "b"], [["regimen_codes"], ["sex_numeric", "dates"]])
    return {
        "a": {
            "path": str(folder / "a"),
            "regimen_aliases": {code: name for name, code in SHORT_REGIMEN_CODES.items()},
        },
        "b": {"path": str(folder / "b"), "sex_aliases": {"1": "M", "2": "F"}, "dates": True},
    }


def write_config(path, sites, **keys):
    path.write_text(yaml.safe_dump({"sites": sites, **keys}))
    return str(path)


def test_check_with_the_config_applies_each_sites_coding(tmp_path, capsys):
    config = write_config(tmp_path / "config.yaml", coded_sites(tmp_path))
    assert rwe_main(["check", "--config", config]) == 0
    out = capsys.readouterr().out
    assert "OK: 20 patients of site 'a'" in out
    assert "OK: 20 patients of site 'b'" in out


def test_check_without_the_coding_refuses_what_the_run_refuses(tmp_path, capsys):
    sites = {site: entry["path"] for site, entry in coded_sites(tmp_path).items()}
    config = write_config(tmp_path / "config.yaml", sites)
    assert rwe_main(["check", "--config", config]) == 1
    err = capsys.readouterr().err
    for words in ("Site 'a':", "a/patients.csv", "column 'regimen'"):
        assert words in err
    for words in ("Site 'b':", "column 'start_date'"):
        assert words in err


def test_check_site_checks_one_site_and_names_an_unknown_one(tmp_path, capsys):
    sites = coded_sites(tmp_path)
    sites["b"] = sites["b"]["path"]  # b without its coding: refused, but not asked for
    config = write_config(tmp_path / "config.yaml", sites)
    assert rwe_main(["check", "--config", config, "--site", "a"]) == 0
    assert rwe_main(["check", "--config", config, "--site", "b"]) == 1
    assert rwe_main(["check", "--config", config, "--site", "c"]) == 2
    assert "site 'c' is not a row-level site of the config (a, b)" in capsys.readouterr().err


def test_check_takes_max_day_and_allow_extra_columns_from_the_config(site_folder, tmp_path):
    (site_folder / "responses.csv").write_text(
        (site_folder / "responses.csv")
        .read_text()
        .replace("\n", ",1\n")
        .replace(",1\n", ",ecog\n", 1)
    )
    strict = write_config(tmp_path / "strict.yaml", {"s1": str(site_folder)})
    loose = write_config(
        tmp_path / "loose.yaml", {"s1": str(site_folder)}, allow_extra_columns=True
    )
    assert rwe_main(["check", "--config", strict]) == 1
    assert rwe_main(["check", "--config", loose]) == 0
    short = write_config(
        tmp_path / "short.yaml", {"s1": str(site_folder)}, allow_extra_columns=True, max_day=10
    )
    assert rwe_main(["check", "--config", short]) == 1


def test_check_finds_a_duplicate_row_the_run_would_refuse(site_folder, tmp_path, capsys):
    repeat_row(site_folder, "responses", 1)
    assert (
        rwe_main(["check", "--config", write_config(tmp_path / "c.yaml", {"s1": str(site_folder)})])
        == 1
    )
    assert "repeats an earlier row exactly" in capsys.readouterr().err


def test_site_options_are_what_the_site_job_is_given(tmp_path):
    """The workflow's `site` rule passes rwe.config.site_options (common.smk) to check_site."""
    sites = coded_sites(tmp_path)
    config = check_config({"sites": sites, "regimen_aliases": {"X": "Ixa-Rd"}, "max_day": 999})
    options = site_options(config, "a")
    assert options["folder"] == sites["a"]["path"]
    assert options["max_day"] == 999
    assert options["allow_extra_columns"] is False
    assert options["coding"]["regimen_aliases"]["X"] == "Ixa-Rd"
    assert options["coding"]["dates"] is False
    assert site_options(config, "b")["coding"]["sex_aliases"] == {"1": "M", "2": "F"}


def test_export_aggregates_reports_a_broken_config_and_writes_nothing(
    site_folder, tmp_path, capsys
):
    bad = tmp_path / "config.yaml"
    bad.write_text("sites: {demo: data/demo}\ncox: {covariates: [gfr_le70\n")
    out = tmp_path / "aggregates"
    argv = ["export-aggregates", str(site_folder), "--site", "s1", "--out", str(out)]
    assert rwe_main([*argv, "--config", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("nothing written: ")
    assert "config.yaml, line 3, column 1" in err
    assert not out.exists()
    # The pooled run's site folders are not this machine's: they are not checked here.
    good = write_config(tmp_path / "pooled.yaml", {"elsewhere": "/not/here"})
    assert rwe_main([*argv, "--config", good]) == 0


def test_config_problems_are_listed_in_one_pass(tmp_path):
    """Schema errors do not hide a missing folder and a misspelt covariate (issue 24)."""
    import pytest

    from rwe.exceptions import ConfigError

    config = {
        "sites": {"a": str(tmp_path / "nowhere")},
        "conf_level": 95,
        "bogus_key": 1,
        "cox": {"covariates": ["gfr_le7"]},
    }
    with pytest.raises(ConfigError) as err:
        check_config(config, source="cfg.yaml")
    message = str(err.value)
    assert message.startswith("cfg.yaml has 4 problems")
    for part in ["bogus_key", "conf_level", "'gfr_le7' is not a column of ADSL", "does not exist"]:
        assert part in message


def test_check_config_only_names_the_file_and_line_without_a_traceback(tmp_path, capsys):
    """`rwe check --config-only` (what `make run` calls first) for a missing or broken file."""
    missing = tmp_path / "absent.yaml"
    assert rwe_main(["check", "--config-only", "--config", str(missing)]) == 2
    assert f"{missing}: no config file there" in capsys.readouterr().err
    broken = tmp_path / "broken.yaml"
    broken.write_text("sites: {a: x}\nconf_level: [0.95\n")
    assert rwe_main(["check", "--config-only", "--config", str(broken)]) == 2
    err = capsys.readouterr().err
    assert f"{broken}, line 3, column 1" in err
    assert "Traceback" not in err


def test_check_config_only_accepts_the_demo_config(capsys):
    assert rwe_main(["check", "--config-only", "--config", "config/config.yaml"]) == 0
    assert "every key is valid" in capsys.readouterr().out


def test_check_with_the_id_column_renamed_and_labs_present_lists_problems(site_folder, capsys):
    """No KeyError when patients.csv lost its key and labs.csv is there (issue 24)."""
    from bad_extracts import rename_column

    assert (site_folder / "labs.csv").is_file()
    rename_column(site_folder, "patients", "patient_id", "pid")
    assert rwe_main(["check", str(site_folder)]) == 1
    err = capsys.readouterr().err
    assert "column 'patient_id': required column is missing" in err
    assert "Traceback" not in err
    assert "KeyError" not in err


def test_a_name_typed_into_a_code_column_is_never_echoed(site_folder, capsys):
    """Issue 24: a message describes a value that is not a code; it never shows it."""
    from bad_extracts import set_cell

    name = "Hannelore Kowalczyk"
    for row, column in enumerate(["death_cause", "regimen", "sex", "diagnosis", "setting"], 1):
        set_cell(site_folder, "patients", row, column, name)
    set_cell(site_folder, "patients", 6, "age", "Kowalczyk")
    set_cell(site_folder, "responses", 1, "response", "Kowalczyk")
    set_cell(site_folder, "labs", 1, "test", "Kowalczyk")
    assert rwe_main(["check", str(site_folder)]) == 1
    err = capsys.readouterr().err
    assert "Kowalczyk" not in err
    assert "Hannelore" not in err
    assert err.count("that is not one of the codes; not shown") == 8


def test_a_misspelt_code_is_still_shown(site_folder, capsys):
    """Values made of the contract's own words and numbers are shown, to be fixed quickly."""
    from bad_extracts import set_cell

    set_cell(site_folder, "patients", 1, "regimen", "ixa rd")
    set_cell(site_folder, "patients", 2, "age", "inf")
    assert rwe_main(["check", str(site_folder)]) == 1
    err = capsys.readouterr().err
    assert "(got 'ixa rd')" in err
    assert "(got 'inf')" in err
