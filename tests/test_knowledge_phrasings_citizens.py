"""Citizen wordings that are in no entry's phrasings (issue 21): dialect, a described situation
instead of the term, short or run-on voice text. Each must reach its entry directly or as the first
of the numbered choices."""

from __future__ import annotations

import pytest

CASES = [
    ("俺家屋里着火了咋往外跑", "fire-escape"),
    ("失火了先救人还是先跑出去", "fire-escape"),
    ("门缝里一直往里冒烟俺出不去了", "fire-trapped"),
    ("衣裳烧起来了往地上滚行不", "fire-clothes"),
    ("炒菜锅里的油呼一下着了", "fire-oil-pan"),
    ("油锅冒火了能泼水不", "fire-oil-pan"),
    ("插座那里冒火花还有焦味", "fire-electrical"),
    ("电视机后面烧起来了", "fire-electrical"),
    ("灭火器那个销子咋拔", "fire-extinguisher-use"),
    ("不晓得灭火器咋用", "fire-extinguisher-use"),
    ("家用买哪种灭火器好使", "fire-extinguisher-types"),
    ("灭火器指针到红的了还能用不", "fire-extinguisher-check"),
    ("灭火器几年就过期了", "fire-extinguisher-check"),
    ("打119要说些啥", "fire-call-119"),
    ("楼道让人堆满了杂物", "fire-escape-routes"),
    ("消防通道被车堵死了", "fire-escape-routes"),
    ("平常在家咋防火", "fire-home-prevention"),
    ("楼里墙上红箱子的消防水带咋用", "fire-hydrant"),
    ("在KTV唱歌碰上着火咋跑", "fire-public-places"),
    ("住宾馆碰上着火咋跑", "fire-public-places"),
    ("烟感报警器老响", "fire-smoke-alarm"),
    ("清明去上坟能烧纸不", "fire-forest"),
    ("灭火毯咋使", "fire-blanket"),
    ("屋里一股煤气味咋整", "gas-leak"),
    ("天然气管子漏气了咋办", "gas-leak"),
    ("燃气灶的软管老化了要换吗", "gas-safe-use"),
    ("煤气罐放倒了用行不行", "gas-cylinder"),
    ("液化气罐子漏气了", "gas-cylinder"),
    ("洗澡洗着洗着头晕了是热水器的事吗", "gas-water-heater"),
    ("一家子早上都头疼恶心是不是中煤气了", "co-poisoning"),
    ("有人煤气中毒了咋救", "co-poisoning"),
    ("老人冬天屋里烧煤炉子睡觉怕中毒", "co-heating"),
    ("蜂窝煤炉子放卧室安全不", "co-heating"),
    ("燃气报警器一直叫咋办", "gas-alarm"),
    ("开饭馆后厨用燃气有啥要求", "gas-restaurant"),
    ("车里开着空调睡一宿会中毒不", "co-car"),
    ("车停车库里不熄火人在里面睡觉", "co-car"),
    # electric
    ("小电驴推到屋里头充一晚上电中不中", "ebike-charging"),
    ("俺家电瓶车放楼梯口充电物业不让", "ebike-charging"),
    ("从窗户吊根线下去给电驴充电行不行", "ebike-charging"),
    ("电动车充着电电池冒烟了", "ebike-charging"),
    ("电驴子想改一下跑快点可以不", "ebike-standard"),
    ("买电动车咋看是不是合格的国标车", "ebike-standard"),
    ("电瓶车一个钟头最快能跑多少公里", "ebike-standard"),
    ("旧的超标电动车还能骑多久", "ebike-standard"),
    ("人被电线粘住了甩不开咋办", "electric-shock"),
    ("俺爹修电灯的时候被电打了一下倒地上了", "electric-shock"),
    ("孩子手指头戳插座被电着了", "electric-shock"),
    ("看见有人触点了要不要上手拉", "electric-shock"),
    ("插线板上插满了电器会不会起火", "electric-home"),
    ("湿手摸开关会不会电着人", "electric-home"),
    ("电褥子开一宿睡觉有事没", "electric-blanket"),
    ("老人用电热毯睡觉安全不安全", "electric-blanket"),
    ("电暖气跟被子挨得太近了", "electric-blanket"),
    ("刮大风电线断了耷拉在路边", "electric-power-line"),
    ("鱼塘上头有根高压线还能钓不", "electric-power-line"),
    ("娃在电线杆子底下放风筝", "electric-power-line"),
    ("充电头一直插着不拔费电还危险吗", "electric-charger"),
    ("充电宝鼓起来了还能用不", "electric-charger"),
    ("晚上手机压枕头底下充电会着不", "electric-charger"),
    ("买的便宜充电器充手机发烫", "electric-charger"),
    # firstaid
    ("人倒了叫不醒也不喘气了咋弄", "aid-cpr"),
    ("按胸口一分钟按多少下", "aid-cpr"),
    ("俺爸突然一头栽倒了没动静了", "aid-cpr"),
    ("地铁站里那个电击救心脏的机器谁都能用不", "aid-aed"),
    ("手指头让镰刀拉了个口子血哗哗的", "aid-bleeding"),
    ("腿上划破了血一直往外冒咋弄", "aid-bleeding"),
    ("孩子流鼻血了仰着头行不", "aid-bleeding"),
    ("胳膊让热油溅了起了泡", "aid-burn"),
    ("娃把暖壶碰倒了烫着腿了", "aid-burn"),
    ("烫着了抹点酱油中不中", "aid-burn"),
    ("俺娘从梯子上掉下来腰动不了", "aid-fracture"),
    ("脚脖子扭了肿老高", "aid-fracture"),
    ("腿摔了好像断了能不能先扶起来走", "aid-fracture"),
    ("叫狗咬了过了好几天了还用打针不", "aid-dog-bite"),
    ("被野猫挠了一道子出血了", "aid-dog-bite"),
    ("村里的狗把娃的手咬破了", "aid-dog-bite"),
    ("吃了山上采的菌子头晕想吐", "aid-food-poisoning"),
    ("吃了发芽的土豆嗓子发麻肚子难受", "aid-food-poisoning"),
    ("俺奶奶半夜喘不上气打哪个号叫医院的车", "aid-call-120"),
    ("打急救的电话接通了该说啥", "aid-call-120"),
    ("割草的时候让长虫咬了手", "aid-snake-bite"),
    ("被长虫咬了用嘴吸出来中不中", "aid-snake-bite"),
    ("脚脖子被啥东西咬了俩小眼可能是蛇", "aid-snake-bite"),
    ("摘花的时候被蜜蜂叮了刺还在肉里", "aid-bee-sting"),
    ("让土蜂子蛰了好几下头晕", "aid-bee-sting"),
    ("捅了个马蜂窝被蛰了一头包", "aid-bee-sting"),
    # chemicals
    ("高速上拉药水的大罐车翻了俺们村离得近要跑不", "chem-leak-escape"),
    ("俺把84跟洁厕的倒一块刷马桶了咳嗽得厉害", "chem-household"),
    ("两种消毒水兑在一起会中毒不", "chem-household"),
    ("厕所用两样清洁的药水一起冲味道呛人", "chem-household"),
    ("厂里干活电瓶水溅眼里了", "chem-burn"),
    ("手上沾了烧碱火辣辣的疼咋弄", "chem-burn"),
    ("石灰粉迷了眼能用油擦不", "chem-burn"),
    ("俺们厂把油漆稀料跟别的桶堆在一个库房行不", "chem-enterprise"),
    ("厂里的危险品仓库谁都能进去拿东西", "chem-enterprise"),
    ("老板让俺下窨井掏淤泥啥也不给戴", "confined-space"),
    ("去掏化粪池之前要干点啥", "confined-space"),
    ("下到大罐子里头刷罐要防啥", "confined-space"),
    ("俺男人下井掏泥没上来俺要不要下去拉", "confined-rescue"),
    ("工友在池子里头昏过去了咋办", "confined-rescue"),
    ("菜窖好久没开了能直接下吗", "cellar"),
    ("点个蜡烛放窖里试试有没有气中不中", "cellar"),
    ("厂里打磨车间满地是铝灰会不会炸", "dust-explosion"),
    ("面粉厂那种灰也能炸吗", "dust-explosion"),
    ("给麦子打药打完头晕想吐", "pesticide"),
    ("背着喷雾器打药要戴啥", "pesticide"),
    ("拿个可乐瓶子去加油站打点油给三轮车", "petrol-bottle"),
    ("割草机没油了去打一壶汽油中不中", "petrol-bottle"),
    ("家里放两桶汽油过冬有事没", "petrol-bottle"),
    # home
    ("俺娘上厕所的时候滑了一跤", "home-elderly-falls"),
    ("老太太一个人住怕她摔着", "home-elderly-falls"),
    ("地上有水老人走路打出溜", "home-elderly-falls"),
    ("娃老是爬到窗台上去玩", "home-child-window"),
    ("纱窗能挡住小孩不掉下去不", "home-child-window"),
    ("孩子一个人在家翻阳台栏杆", "home-child-window"),
    ("孩子吃糖豆卡嗓子眼了咳不出来", "home-choking"),
    ("老人吃汤圆噎着了说不出话", "home-choking"),
    ("娃吞了个硬币喘不上来气", "home-choking"),
    ("压力锅没凉透能打开不", "home-kitchen"),
    ("油烟机上的油好几年没擦了", "home-kitchen"),
    ("楼上的人从窗户往下扔烟头", "home-high-throw"),
    ("楼上的花盆掉下来砸了俺的车找谁", "home-high-throw"),
    ("小孩从楼上往下扔东西家长担责吗", "home-high-throw"),
    ("电梯卡在两层中间了门开不开", "home-elevator"),
    ("关电梯里头了手机也没信号", "home-elevator"),
    ("电梯一下子往下出溜了", "home-elevator"),
    ("家里备个急救箱都放点啥", "home-emergency-kit"),
    ("万一地震了提前准备啥东西放家里", "home-emergency-kit"),
    ("逃难的包里要装些啥", "home-emergency-kit"),
    ("赶集人太多被挤倒了咋护住自己", "campus-stampede"),
    ("看演出人挤人前面有人摔了", "campus-stampede"),
    ("放学下楼梯孩子们挤成一团", "campus-stampede"),
    ("孩子在学校被大孩子欺负了", "campus-safety"),
    ("放假了孩子在家没人管咋整", "campus-safety"),
    ("娃上学路上要过大马路不放心", "campus-safety"),
    ("上化学课酒精灯咋灭", "campus-lab"),
    ("上实验课要不要戴护目的眼镜", "campus-lab"),
    ("学校做实验能不能用鼻子闻", "campus-lab"),
    # mines
    ("俺家就在矿上那个大泥坝子下头下大雨了怕垮", "tailings-pond"),
    ("选矿厂倒渣子的那个坝往外冒黄水", "tailings-pond"),
    ("矿渣堆的坝底下能种地不", "tailings-pond"),
    ("山后头以前挖煤的老洞子孩子老往里钻", "mine-goaf"),
    ("俺们村地底下挖空了房子墙都裂了", "mine-goaf"),
    ("地里突然陷下去一个大坑是咋回事", "mine-goaf"),
    ("头一回去煤矿上班要知道些啥", "mine-worker"),
    ("井底下巷道顶上老掉渣子", "mine-worker"),
    ("矿上不给配自救器就让下", "mine-worker"),
    ("修路的要炸山让俺们躲出去多远算安全", "blasting"),
    ("采石场放完炮石头蹦到院子里了", "blasting"),
    ("犁地翻出来一个生锈的铁疙瘩像炮弹", "explosives-found"),
    ("娃在河滩捡了根带线的管子像是雷管", "explosives-found"),
    ("二踢脚点了没响能再点一回不", "fireworks-use"),
    ("过年娃娃拿鞭炮往下水道里扔", "fireworks-use"),
    ("放烟花把手炸了血淋淋的", "fireworks-use"),
    ("隔壁在家里偷着做炮仗", "fireworks-shop"),
    ("俺想过年在村口摆摊卖点烟花中不中", "fireworks-shop"),
    ("楼下小超市屋里堆了一屋子鞭炮", "fireworks-shop"),
    # traffic
    ("俺的车让人从后头怼了一下咋整", "traffic-accident"),
    ("跟人蹭了一下车要报警不", "traffic-accident"),
    ("在高速上车抛锚了人站哪儿", "traffic-accident"),
    ("骑个小电驴上街戴那个帽子有啥用", "traffic-helmet"),
    ("骑摩托不戴盔交警抓不", "traffic-helmet"),
    ("坐后排也得系带子吗", "traffic-helmet"),
    ("晚上吃席喝了二两白的还能开回家不", "traffic-drink"),
    ("中午整了两瓶啤的下午能骑摩托不", "traffic-drink"),
    ("吹气测出来多少算醉了", "traffic-drink"),
    ("开大车跑夜路困得睁不开眼", "traffic-fatigue"),
    ("开了一上午车了眼皮打架", "traffic-fatigue"),
    ("高速上犯迷糊能在应急车道眯一会不", "traffic-fatigue"),
    ("小娃坐前头副座行不行", "traffic-children"),
    ("抱着娃坐前排出事了能护住不", "traffic-children"),
    ("村里的路没人行道走哪边", "traffic-pedestrian"),
    ("老人横穿马路被车撞的多", "traffic-pedestrian"),
    ("开三马子拉着一车人去地里", "traffic-rural"),
    ("坐人家的蹦蹦车去赶集行不", "traffic-rural"),
    ("七座的面包车坐了十来个人", "traffic-rural"),
    # work
    ("俺在三楼外墙上刷漆底下没网子", "work-height"),
    ("站在人字梯最上头那层干活中不中", "work-height"),
    ("上房顶换瓦片不拴绳行不行", "work-height"),
    ("戴帽子嫌热把带子解开了有事没", "work-helmet"),
    ("塑料帽子戴了好几年都褪色了还能戴不", "work-helmet"),
    ("系的那个保险带钩子挂脚底下行不", "work-harness"),
    ("在楼边上干活腰上的绳子该往哪挂", "work-harness"),
    ("架子上的板子没绑住踩上去直晃", "work-scaffold"),
    ("俺们工地搭架子的没有证", "work-scaffold"),
    ("架子底下垫的砖头能行吗", "work-scaffold"),
    ("工地上吊东西的大铁臂从头顶转过去", "work-construction-site"),
    ("村里盖楼房的工地没有围挡娃老进去", "work-construction-site"),
    ("头一天上工地干小工要注意啥", "work-construction-site"),
    ("厂里让俺开铲车可俺没考过证", "work-special-ops"),
    ("焊工证过期了还能干活吗", "work-special-ops"),
    ("厂里口罩耳塞都让自己掏钱", "work-ppe"),
    ("老板说劳保的钱从工资里扣", "work-ppe"),
    ("领导硬叫俺下去干那个危险活俺不想去", "work-rights"),
    ("班长说不戴手套不系带也没事俺要听他的不", "work-duties"),
    ("手差点让机器卷进去了", "work-machinery"),
    ("修机器不拉闸直接伸手进去掏", "work-machinery"),
    ("机器上的防护罩嫌碍事拆了", "work-machinery"),
    ("楼下有人烧电焊火星子往下掉", "work-hot-work"),
    ("仓库里头要切割钢管旁边都是纸箱子", "work-hot-work"),
    ("工头叫人不按规矩干活这叫啥", "work-three-violations"),
    ("在厂里干活手指头让机器轧断了能赔多少", "work-injury"),
    ("下班骑车回家被车撞了单位管不", "work-injury"),
    ("老板说是俺自己不小心不给报", "work-injury"),
    ("收麦子的机器卡住了俺想伸手掏", "farm-machinery"),
    ("拖拉机后面那个打地的转起来衣裳被卷进去", "farm-machinery"),
]

# Still missed when written (the right entry scores first but under the choice threshold): kept
# strict, so that a matcher change that reaches them shows and they move up.
MISSED = [
    ("着大火了人往哪边逃命", "fire-escape"),
    ("火堵住楼梯了人困在家里", "fire-trapped"),
    ("孩子裤子被火点着了", "fire-clothes"),
    ("家里电闸老是掉是咋回事", "electric-home"),
    ("烤火炉上面搭毛巾烘干行不", "electric-blanket"),
    # firstaid
    ("一桌人吃完席都吐了", "aid-food-poisoning"),
    # chemicals
    ("俺爹下去拿红薯半天没动静", "cellar"),
    # home
    ("炒着菜出门拿快递了", "home-kitchen"),
    # mines
    ("山那边开石头厂天天崩山震得玻璃响", "blasting"),
    # work
    ("厂里闻着味不对俺先跑出来了老板要扣钱", "work-rights"),
    ("班上偷偷喝两口酒算违反啥", "work-three-violations"),
]

# Still missed when written, another entry scoring first (a neighbour whose words the wording
# shares, e.g. 电线 with the electrical-fire entry).
MISSED_ELSEWHERE = [
    ("电线外皮都裂了还能用不", "electric-home"),
    ("断了的电线离我很近该咋走", "electric-power-line"),
    # firstaid: 仪器/会用 are the extinguisher entry's words, 拉人 the rural-road entry's
    ("那个给心脏电一下的仪器俺们不会用", "aid-aed"),
    ("叫医院来车拉人要咋说地址", "aid-call-120"),
    # chemicals: 怪味 and 臭鸡蛋 are also the gas entry's words, 矿泉水瓶 the petrol entry's
    ("村东头那个厂子飘过来一股怪味熏得人眼泪直流", "chem-leak-escape"),
    ("外头一股臭鸡蛋味儿呛得慌往哪边躲", "chem-leak-escape"),
    ("剩下的药水倒进矿泉水瓶子放屋里", "pesticide"),
    # traffic: 车里睡 is the car exhaust entry's, 衣裳 the burning-clothes entry's
    ("娃在车里睡着了俺下去买个东西", "traffic-children"),
    ("晚上出门穿啥衣裳司机能看见", "traffic-pedestrian"),
    # work: who pays for a helmet is the PPE entry's question (arguably the better answer); 电线杆
    # draws the power-line entry, 石料厂 blasting, 中毒 the CO entry, 安全会 a fire entry
    ("老板不给发安全帽俺自己买个便宜的行不", "work-helmet"),
    ("没本子能上电线杆接电不", "work-special-ops"),
    ("厂里开安全会俺不去行不", "work-duties"),
    ("在石料厂干了好多年现在一走路就喘", "work-occupational-disease"),
    ("喷漆车间干久了老头疼是不是中毒了", "work-occupational-disease"),
]


def reaches(bot, text: str, entry_id: str) -> bool:
    result = bot.content.knowledge.understand(text)
    return result.band in ("direct", "choose") and result.best.entry.id == entry_id


@pytest.mark.parametrize(("text", "entry_id"), CASES)
def test_a_citizen_wording_reaches_its_entry(bot, text: str, entry_id: str) -> None:
    result = bot.content.knowledge.understand(text)
    assert reaches(bot, text, entry_id), (text, result.band, [m.entry.id for m in result.matches])


@pytest.mark.xfail(strict=True, reason="the right entry is first but scores under the choice threshold")
@pytest.mark.parametrize(("text", "entry_id"), MISSED)
def test_a_citizen_wording_still_missed(bot, text: str, entry_id: str) -> None:
    assert reaches(bot, text, entry_id)


@pytest.mark.xfail(strict=True, reason="another entry scores first")
@pytest.mark.parametrize(("text", "entry_id"), MISSED_ELSEWHERE)
def test_a_citizen_wording_still_reaching_another_entry(bot, text: str, entry_id: str) -> None:
    assert reaches(bot, text, entry_id)
