import pytest

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


def test_version_is_printed(capsys):
    from importlib import metadata

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"rwe {metadata.version('rwe')}"


def test_help_documents_every_option_in_plain_text():
    import argparse

    from rwe.cli import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, command in [("rwe", parser), *commands.choices.items()]:
        text = command.format_help()
        assert "``" not in text, name
        for action in command._actions:
            if action.option_strings and not isinstance(action, argparse._HelpAction):
                assert action.help, f"{name} {action.option_strings[0]} has no help"
