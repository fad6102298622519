"""Word lists for generated demo people, places and organizations (all fictitious)."""

# Common surnames in Shandong, most frequent first; weights roughly follow frequency.
SURNAMES = (
    "王张李刘孙赵陈杨高徐马郭朱胡于董吕宋郑梁魏韩曹田孔任冯程袁邓许傅沈曾彭苏卢蒋蔡贾丁"
    "薛叶阎潘杜戴夏钟汪姜范方石姚谭廖邹熊金陆郝崔康毛邱秦江史顾侯邵孟龙万段常武乔贺颜"
)
MALE_CHARS = "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宁浩凯峰建国庆东亮海志永健文俊晨宇博"
FEMALE_CHARS = "芳娜敏静丽艳娟霞秀玲燕红梅琳雪莉婷颖倩洁欣悦萍慧英兰月琴晶妍璐佳雯淑"
NEUTRAL_CHARS = "子嘉一思振家春秋新天晓小雨金玉德福永立学成"

URBAN_TOWNS = {
    "370829001": [
        "城南社区",
        "城北社区",
        "建设路社区",
        "曾子社区",
        "嘉宾社区",
        "青山社区",
        "红旗社区",
        "文化路社区",
    ],
    "370829002": ["卧龙山社区", "萌山社区", "凤凰社区", "嘉新社区", "兴隆社区", "开元社区"],
    "370829003": ["万张社区", "新华社区", "光明社区", "和平社区", "龙湾社区", "宏远社区"],
}
VILLAGE_SUFFIXES = "庄楼集屯店营寨口堂桥湾园洼坊铺"
STREETS = ["建设路", "呈祥大街", "嘉宾路", "萌山路", "青山路", "文化路", "团结路", "曾子大道"]

DEPARTMENTS = [
    ("县公安局", "department", 210),
    ("县综合行政执法局", "department", 150),
    ("县市场监督管理局", "department", 60),
    ("县应急管理局", "department", 40),
    ("县卫生健康局", "department", 80),
    ("县民政局", "department", 40),
    ("县人力资源和社会保障局", "department", 30),
    ("县住房和城乡建设局", "department", 50),
    ("县自然资源和规划局", "department", 30),
    ("市生态环境局嘉祥县分局", "department", 30),
    ("县交通运输局", "department", 25),
    ("县水务局", "department", 25),
    ("县教育和体育局", "department", 40),
    ("县司法局", "department", 30),
    ("县消防救援大队", "department", 30),
    ("县退役军人事务局", "department", 20),
    ("县供水公司", "utility", 25),
    ("国网嘉祥县供电公司", "utility", 30),
    ("县燃气公司", "utility", 25),
    ("县热力公司", "utility", 21),
    ("嘉祥通信运营商联合服务组", "utility", 20),
]

FIRST_SECRETARIES = [
    ("province", "山东省农业农村厅"),
    ("province", "济宁医学院"),
    ("city", "济宁市财政局"),
    ("city", "济宁市自然资源和规划局"),
    ("county", "嘉祥县农业农村局"),
]

ORGANIZATION_WORDS = [
    "鑫源",
    "恒达",
    "盛鸿",
    "嘉和",
    "瑞丰",
    "宏图",
    "兴旺",
    "昌隆",
    "福瑞",
    "泰和",
    "德润",
    "博远",
    "鸿运",
    "祥云",
    "华泰",
]
ORGANIZATION_KINDS = [
    ("enterprise", "商贸有限公司"),
    ("enterprise", "建材有限公司"),
    ("sole_trader", "便利店"),
    ("sole_trader", "理发店"),
    ("sole_trader", "餐馆"),
    ("social", "志愿服务协会"),
    ("public", "幼儿园"),
]

MOBILE_PREFIXES = (
    "130 131 132 133 135 136 137 138 139 150 151 152 155 157 158 159 166 176 177 178 "
    "180 181 182 183 185 186 187 188 189 198 199"
).split()

# 曲阜市鲁城街道, the seed's second area (网格聚能 一网统筹): the old town's communities.
LUCHENG_COMMUNITIES = [
    "五马祠社区", "鼓楼社区", "半壁街社区", "西门社区", "东门社区", "南门社区", "北门社区",
    "阙里社区", "颜庙社区", "孔府社区", "书院社区", "春秋社区", "杏坛社区", "大成社区",
    "仓庚社区", "棋盘街社区",
]  # fmt: skip
LUCHENG_STREETS = ["鼓楼大街", "五马祠街", "半壁街", "阙里街", "颜庙街", "东门大街", "南马道"]
PROPERTY_COMPANIES = [
    "曲阜市儒乡物业服务有限公司", "曲阜市阙里物业管理有限公司", "曲阜市杏坛物业服务有限公司",
    "曲阜市鲁城物业服务有限公司", "曲阜市圣城物业管理有限公司", "曲阜市明德物业服务有限公司",
    "曲阜市和居物业服务有限公司", "曲阜市春秋物业管理有限公司",
]  # fmt: skip
RIDER_PLATFORMS = ["美团外卖", "饿了么", "顺丰速运", "京东物流", "中通快递", "滴滴出行", "邮政快递"]
