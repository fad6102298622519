"""The "1+3+5+N" service types shipped with Jiceng: tutoring, publicity, help for the
elderly and disabled, culture and sport, errands, and more (editable in the admin)."""

TYPES = [
    ("tutoring", "课业辅导"),
    ("publicity", "宣传宣讲"),
    ("elderly-disabled", "助老助残"),
    ("culture-sport", "文体活动"),
    ("errands", "帮办代办"),
    ("health", "健康义诊"),
    ("safety", "消防演练"),
    ("crafts", "手工制作"),
    ("calligraphy", "书法绘画"),
    ("childcare", "儿童托管"),
    ("environment", "环境整治"),
    ("performance", "文艺演出"),
]


def load(ServiceType) -> None:  # the model class, historical or current
    for order, (code, name) in enumerate(TYPES):
        ServiceType.objects.update_or_create(
            code=code, defaults={"name": name, "sort_order": order}
        )
