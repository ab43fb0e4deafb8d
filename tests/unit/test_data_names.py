"""Class-name mappings for dataset transfer: inline or from a CSV file, mistakes named."""

from __future__ import annotations

from pathlib import Path

import pytest

from videoxai.data.names import map_classes, read_class_mapping

TRAIN = ["BrushHair", "Cartwheel", "PlayingGuitar"]


def test_unmatched_classes_get_minus_one_when_allowed() -> None:
    assert map_classes(
        ["brush_hair", "fall_floor", "guitar"], TRAIN, {"guitar": "PlayingGuitar"}, allow_unmatched=True
    ) == [0, -1, 2]
    with pytest.raises(ValueError, match="1 test classes have no training class: 'fall_floor'"):
        map_classes(["brush_hair", "fall_floor"], TRAIN)


def test_a_mapping_key_that_is_no_test_class_is_an_error() -> None:
    with pytest.raises(ValueError, match="does not have: 'gitar'"):
        map_classes(["guitar"], TRAIN, {"gitar": "PlayingGuitar"}, allow_unmatched=True)


def test_mapping_from_csv_with_or_without_header(tmp_path: Path) -> None:
    with_header = tmp_path / "a.csv"
    with_header.write_text("test,train\r\nbrush_hair, BrushHair\r\n\r\nride_bike,Biking\r\n")
    without = tmp_path / "b.csv"
    without.write_text('brush_hair,BrushHair\n"ride bike, fast",Biking\n')
    assert read_class_mapping(with_header) == {"brush_hair": "BrushHair", "ride_bike": "Biking"}
    assert read_class_mapping(str(without)) == {"brush_hair": "BrushHair", "ride bike, fast": "Biking"}
    assert read_class_mapping({"a": "B"}) == {"a": "B"}


@pytest.mark.parametrize(
    "text,message",
    [
        ("a,B\na,C\n", "mapped twice"),
        ("a,B,C\n", "expected 'test class,training class'"),
        ("a,\n", "expected 'test class,training class'"),
    ],
)
def test_bad_mapping_files_name_the_row(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "m.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        read_class_mapping(path)
    with pytest.raises(ValueError, match="does not exist"):
        read_class_mapping(tmp_path / "missing.csv")
