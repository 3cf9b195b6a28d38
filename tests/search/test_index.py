"""The search as a person meets it: the right article however they type, or "not sure"."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from bot.content.load import Article, ArticleText, Content
from bot.search import Match, SearchIndex, SearchResult


@pytest.fixture(scope="module")
def index(content: Content) -> SearchIndex:
    return content.search


def article(aid: str, **texts: tuple[str, str, list[str]]) -> Article:
    """A small article: lang=(title, text, keywords); missing languages copy English."""
    en = texts["en"]
    return Article(
        id=aid,
        path=f"knowledge/{aid}.yaml",
        reviewed=dt.date(2026, 1, 1),
        related=(),
        verify=(),
        sources=(("test", "https://example.org"),),
        texts={
            lang: ArticleText(t[0], t[1], t[1][:60], tuple(t[2]))
            for lang in ("ky", "ru", "tg", "en")
            for t in [texts.get(lang, en)]
        },
    )


@pytest.fixture(scope="module")
def small() -> SearchIndex:
    return SearchIndex.build(
        {
            "work-patent": article(
                "work-patent",
                en=("Work patent", "Apply for a patent within 30 days.", ["patent", "permit"]),
                ru=("Патент на работу", "Подайте на патент за 30 дней.", ["патент"]),
            ),
            "lost-documents": article(
                "lost-documents",
                en=("Lost passport", "Report a lost passport to the police.", ["lost passport"]),
                ru=("Потеряли паспорт", "Заявите о потере паспорта.", ["потерял паспорт"]),
            ),
            "remittances": article(
                "remittances",
                en=("Sending money home", "Compare fees before you send money.", ["transfer"]),
            ),
        }
    )


# -- the contract the engine and `safar ask` rely on ---------------------------------------


def test_a_result_has_at_most_three_matches_best_first_scored_0_to_1(index: SearchIndex) -> None:
    for text in ("патент", "паспорт полиция документы консульство", "help", "ок", ""):
        result = index.search(text)
        assert isinstance(result, SearchResult)
        assert len(result.matches) <= 3
        assert all(isinstance(m, Match) and 0 < m.score <= 1 for m in result.matches)
        scores = [m.score for m in result.matches]
        assert scores == sorted(scores, reverse=True)
        if result.answer is not None:
            assert result.answer == result.matches[0].id


def test_nothing_to_search_is_a_safe_empty_answer(small: SearchIndex) -> None:
    for text in ("", "   ", "???", "12345", "🙂🙂🙂", "\x00\x01", "a"):
        result = small.search(text)
        assert result.answer is None and result.matches == ()


def test_a_huge_message_costs_no_more_than_a_long_one(index: SearchIndex) -> None:
    text = "Потерял паспорт, что делать? " + "бла " * 200_000
    t0 = time.perf_counter()
    result = index.search(text)
    assert time.perf_counter() - t0 < 0.5
    assert result.matches  # still searched, on the first words


def test_an_empty_knowledge_base_answers_nothing() -> None:
    empty = SearchIndex.build({})
    result = empty.search("patent")
    assert (result.answer, result.matches) == (None, ())


def test_the_index_builds_fast_enough_to_rebuild_on_every_content_reload(
    content: Content,
) -> None:
    SearchIndex.build(content.articles)  # first build warms the stemmer cache, as in the bot
    t0 = time.perf_counter()
    SearchIndex.build(content.articles)
    assert time.perf_counter() - t0 < 1.0


def test_a_query_takes_well_under_ten_milliseconds(index: SearchIndex) -> None:
    texts = ["pasportum jogolup kaldy", "Барои патент кадом ҳуҷҷатҳо лозим аст?", "qwrtzpx"]
    t0 = time.perf_counter()
    for i in range(30):
        index.search(f"{texts[i % 3]} {i}")
    assert (time.perf_counter() - t0) / 30 < 0.01


# -- matching as people type ----------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "потерял паспорт",
        "poteryal pasport",  # Russian in Latin letters
        "потерял паспотр",  # a typo
        "потеряли паспорта",  # other endings
        "lost my passport",
        "LOST PASSPORT!!!",
    ],
)
def test_however_a_person_types_it_they_get_the_article(small: SearchIndex, text: str) -> None:
    assert small.search(text).answer == "lost-documents"


def test_keywords_decide_over_a_passing_mention_in_the_text(small: SearchIndex) -> None:
    # "patent" is only in work-patent; "police" is in lost-documents' text only
    assert small.search("patent permit").answer == "work-patent"
    assert small.search("money transfer").answer == "remittances"


def test_the_ranking_orders_the_close_topics(small: SearchIndex) -> None:
    ids = [m.id for m in small.search("lost passport, patent").matches]
    assert set(ids[:2]) == {"lost-documents", "work-patent"}


# -- the shipped knowledge base ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("pasportum jogolup kaldy", "lost-documents"),
        ("патент чи тавр гирифтан мумкин", "work-patent"),
        ("Работодатель зарплата бербей жатат", "unpaid-wages"),  # Russian words in Kyrgyz
        ("Хучатхоямро дуздиданд", "lost-documents"),  # Tajik on a Russian keyboard
        ("menya zaderzhala politsiya", "police-detention"),
        ("kak sdelat registraciyu", "registration"),
        ("how do I send money home cheaply", "remittances"),
        ("Мени депортациялайбыз дешти", "deportation"),
    ],
)
def test_a_migrant_writing_as_they_do_gets_the_right_article(
    index: SearchIndex, text: str, topic: str
) -> None:
    assert index.search(text).answer == topic


@pytest.mark.parametrize(
    "text",
    [
        "Салам, кандайсың?",
        "Салом, чӣ хел шумо?",
        "Привет! Как дела?",
        "thanks a lot",
        "ок",
        "what's the weather in Moscow today",
        "Расскажи анекдот",
        "Сколько будет два плюс два?",
        "qwerty",
        "asdkjhasd qweqwe",
    ],
)
def test_chatter_gets_no_article_but_an_honest_not_sure(index: SearchIndex, text: str) -> None:
    assert index.search(text).answer is None


def test_a_greeting_before_the_question_does_not_hide_it(index: SearchIndex) -> None:
    assert index.search("Салам! Паспортумду жоготуп алдым").answer == "lost-documents"
    assert index.search("Здравствуйте, спасибо, подскажите как оплатить патент").answer == (
        "work-patent"
    )


def test_not_sure_still_suggests_the_closest_topics(index: SearchIndex) -> None:
    # a vague message: the engine offers these as "maybe one of these topics helps"
    result = index.search("документы")
    assert result.matches


# -- long messages, honest declines and small talk (issue 9) --------------------------------


def test_a_long_message_is_as_sure_as_its_question_alone(index: SearchIndex) -> None:
    question = "Как узнать, нет ли у меня запрета на въезд в Россию?"
    story = (
        "Добрый день! В прошлом году у меня были два штрафа, я их не оплатил и уехал домой. "
        f"Сейчас хочу вернуться на работу. {question} Боюсь, что развернут на границе, а билет "
        "уже куплен. Заранее спасибо."
    )
    alone, long = index.search(question), index.search(story)
    assert alone.answer == long.answer == "entry-ban"
    assert long.matches[0].score >= 0.9 * alone.matches[0].score


def test_the_question_decides_over_the_story_around_it(index: SearchIndex) -> None:
    # the first sentence is about EAEU rights; the question is about the pension
    text = (
        "Здравствуйте. Я гражданин Кыргызстана, работаю в России официально уже двенадцать лет. "
        "Засчитается ли мой стаж в России для пенсии дома? Спасибо большое."
    )
    assert index.search(text).answer == "pension"


@pytest.mark.parametrize(
    "text",
    [
        "Хочу взять автокредит на машину, какой банк лучше?",  # "банк" alone must not win
        "Курс доллара на сегодня какой?",  # not the online course of legal-jobs-abroad
        "Какой счёт в матче Спартак Зенит?",
        "Ҳисоби бозии футбол чанд шуд?",
        "best bank for a car loan",
        "what day is it today",
    ],
)
def test_one_leftover_word_does_not_win_an_article(index: SearchIndex, text: str) -> None:
    result = index.search(text)
    assert result.answer is None and result.smalltalk is None


def test_small_talk_gets_its_kind_and_no_article(index: SearchIndex) -> None:
    assert index.search("Салам, кандайсыз?").smalltalk == "greeting"
    assert index.search("Спасибо вам огромное, вы очень помогли").smalltalk == "thanks"
    assert index.search("Иди шумо муборак").smalltalk == "wish"
    assert index.search("goodbye").smalltalk == "bye"
    for text in ("Благодарю за помощь", "Раҳмат, бисёр кӯмак кардед"):
        result = index.search(text)
        assert (result.answer, result.smalltalk) == (None, "thanks")
    # a question after a greeting is a question
    result = index.search("Салам! Паспортумду жоготуп алдым")
    assert (result.answer, result.smalltalk) == ("lost-documents", None)


def test_words_that_mean_two_things_are_read_by_their_neighbours(index: SearchIndex) -> None:
    assert index.search("Сафорати Тоҷикистон дар Маскав куҷост?").answer == "consulate"
    assert index.search("Где купить полис ДМС и сколько он стоит?").answer == "health-care"
    assert index.search("Полис маро дар кӯча дошт ва ба шӯъба бурд").answer == "police-detention"


def test_slang_and_digits_for_letters_find_the_article(index: SearchIndex) -> None:
    assert index.search("регу не делают, хозяин хаты против").answer == "registration"
    assert index.search("koreyaga i6ke baruu u4un kaida kairylam").answer == "legal-jobs-abroad"
    assert index.search("nomer gor9chei linii dlya migrantov").answer == "hotline"
