"""Triage help: category guesses from the text, likely duplicates, and their accuracy."""

from jiceng.cases import selectors, services, triage
from jiceng.cases.models import Case


def test_similarity_of_chinese_texts():
    assert triage.similarity("3号楼门口路灯不亮", "3号楼门口的路灯不亮了") > 0.6
    assert triage.similarity("3号楼门口路灯不亮", "楼上漏水到我家厨房") < 0.1
    assert triage.similarity("", "任何") == 0


def test_a_county_without_history_guesses_from_names_and_keywords(world, submit):
    triage._models.clear()
    case = submit(category=None, text="小区电梯又坏了，停在三楼不动")
    assert triage.suggest_categories(case)[0].category.code == "property.elevator"
    case = submit(category=None, text="晚上广场舞音响太吵")
    assert triage.suggest_categories(case)[0].category.code == "disputes.noise"


def test_history_teaches_words_the_keywords_lack(world, catalogue, submit):
    worker, community = world.a("grid_worker"), world.a("community_worker")
    for _ in range(3):
        case = submit(category="safety.ebike", text="有人在楼梯间拉插排给电瓶车充电")
        case = services.case_accept(actor=worker, case=case)
        case = services.case_dispatch(actor=worker, case=case, handler=worker)
        case = services.case_start(actor=worker, case=case)
        case = services.case_handle(actor=worker, case=case, result="已劝离")
        services.case_check(actor=community, case=case, passed=True)
    triage._models.clear()
    new = submit(category=None, text="楼梯间又有人拉插排给电瓶车充电")
    assert triage.suggest_categories(new)[0].category.code == "safety.ebike"
    assert triage.suggest_handler(new, catalogue["safety.ebike"]) == ("user", worker.pk)
    assert triage.evaluate("370829", share=0.34)["tested"] == 1


def test_likely_duplicates_in_the_same_grid(world, submit):
    first = submit(text="3号楼门口路灯不亮，晚上很黑")
    submit(text="楼上漏水到我家厨房")
    submit(text="3号楼门口路灯不亮了", region_code=world.grid_b.code)
    second = submit(text="3号楼门口的路灯不亮")
    found = [case for case, _ in selectors.duplicates_of(second)]
    assert found == [first]
    assert Case.objects.count() == 4
