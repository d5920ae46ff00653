"""Agents' names matched to users' names, accents or not, in either order."""

from vbot_call_history.services.names import fold, suggest


def test_fold():
    assert fold("Nguyễn Văn Đạt") == "nguyen van dat"
    assert fold("  TRẦN thị   Ngọc-Ánh ") == "tran thi ngoc anh"
    assert fold("Đỗ Thị Hồng Nhung") == "do thi hong nhung"
    assert fold(None) == ""


def test_suggest_accents_order_and_ambiguity():
    members = {"101": "Nguyễn Văn An", "102": "Lê Thị Hà", "103": "Phạm Minh", "104": ""}
    users = {1: "Nguyen Van An", 2: "Ha Le Thi", 3: "Phạm Minh", 4: "pham minh", 5: "Võ Tài"}
    # 101: same name without accents; 102: same words, Western order; 103: written
    # exactly so by one user (another wrote it without accents); 104: no name.
    assert suggest(members, users) == {"101": 1, "102": 2, "103": 3}
    # Two users wrote the same name the same way: no suggestion.
    assert suggest({"105": "Võ Tài"}, {1: "Vo Tai", 2: "vo  tai"}) == {}


def test_exact_name_wins_over_reordered_one():
    assert suggest({"m": "An Nguyen"}, {1: "Nguyễn An", 2: "An Nguyễn"}) == {"m": 2}


def test_names_that_differ_only_by_accents():
    members = {"104": "Nguyễn Văn Hùng", "107": "Nguyễn Văn Hưng"}
    # Users typed with their accents: each finds its own.
    assert suggest(members, {1: "Nguyễn Văn Hùng", 2: "Nguyễn Văn Hưng"}) == {"104": 1, "107": 2}
    # One user typed without accents could be either: suggested for neither.
    assert suggest(members, {1: "Nguyen Van Hung"}) == {}
    # One with accents, one without: the accented one is sure, the other is not guessed.
    assert suggest(members, {1: "Nguyễn Văn Hùng", 2: "Nguyen Van Hung"}) == {"104": 1}
