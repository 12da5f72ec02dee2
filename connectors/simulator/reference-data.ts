/**
 * Small lists of real-looking reference data for synthetic rows: county-level divisions with their real
 * GB/T 2260 codes across several provinces, common surnames, given-name characters, street names and the
 * words enterprise names are made of.
 */

export interface County {
  code: string;
  province: string;
  /** Prefecture-level city; the same as the province for the four municipalities. */
  city: string;
  /** Short city name used in enterprise names (武汉, 北京). */
  cityShort: string;
  /** District or county; empty for a county-level city directly under the province (济源). */
  district: string;
}

const c = (code: string, province: string, city: string, district: string): County => ({
  code,
  province,
  city,
  cityShort: city.replace(/(市|地区)$/, ''),
  district,
});

export const COUNTIES: readonly County[] = [
  c('110101', '北京市', '北京市', '东城区'),
  c('110105', '北京市', '北京市', '朝阳区'),
  c('110108', '北京市', '北京市', '海淀区'),
  c('120101', '天津市', '天津市', '和平区'),
  c('310101', '上海市', '上海市', '黄浦区'),
  c('310104', '上海市', '上海市', '徐汇区'),
  c('310115', '上海市', '上海市', '浦东新区'),
  c('500103', '重庆市', '重庆市', '渝中区'),
  c('130102', '河北省', '石家庄市', '长安区'),
  c('320102', '江苏省', '南京市', '玄武区'),
  c('320506', '江苏省', '苏州市', '吴中区'),
  c('330106', '浙江省', '杭州市', '西湖区'),
  c('330212', '浙江省', '宁波市', '鄞州区'),
  c('350102', '福建省', '福州市', '鼓楼区'),
  c('350203', '福建省', '厦门市', '思明区'),
  c('370102', '山东省', '济南市', '历下区'),
  c('370202', '山东省', '青岛市', '市南区'),
  c('410105', '河南省', '郑州市', '金水区'),
  c('419001', '河南省', '济源市', ''),
  c('420106', '湖北省', '武汉市', '武昌区'),
  c('420111', '湖北省', '武汉市', '洪山区'),
  c('420502', '湖北省', '宜昌市', '西陵区'),
  c('430104', '湖南省', '长沙市', '岳麓区'),
  c('440106', '广东省', '广州市', '天河区'),
  c('440305', '广东省', '深圳市', '南山区'),
  c('450102', '广西壮族自治区', '南宁市', '兴宁区'),
  c('451202', '广西壮族自治区', '河池市', '金城江区'),
  c('510107', '四川省', '成都市', '武侯区'),
  c('610113', '陕西省', '西安市', '雁塔区'),
  c('610402', '陕西省', '咸阳市', '秦都区'),
];

/** The most common surnames first: the first ten are drawn half of the time. */
export const SURNAMES = [
  ...'王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤',
];
export const COMMON_SURNAMES = 10;

export const MALE_GIVEN = [
  ...'伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林阳建国志文亮成东海峰晨博翔鸿',
];
export const FEMALE_GIVEN = [...'芳娜敏静丽艳娟霞秀英玲燕萍红梅莉兰婷雪琳慧颖倩洁佳琴云莹晶欣月薇悦思雨婉'];

export const STREETS = [
  '人民路',
  '解放路',
  '中山路',
  '建设路',
  '和平路',
  '文化路',
  '胜利路',
  '新华路',
  '长江路',
  '黄河路',
  '青年路',
  '光明路',
  '友谊路',
  '团结路',
  '健康路',
  '朝阳路',
  '东风路',
  '幸福路',
  '民主路',
  '公园路',
];

export const PHONE_PREFIXES = [
  '130',
  '131',
  '132',
  '133',
  '134',
  '135',
  '136',
  '137',
  '138',
  '139',
  '150',
  '151',
  '152',
  '153',
  '155',
  '156',
  '157',
  '158',
  '159',
  '166',
  '173',
  '175',
  '176',
  '177',
  '178',
  '180',
  '181',
  '182',
  '183',
  '184',
  '185',
  '186',
  '187',
  '188',
  '189',
  '191',
  '193',
  '195',
  '198',
  '199',
];

/** 字号: two characters, one from each list. */
export const TRADE_NAME_FIRST = [...'华鼎恒盛泰信达瑞嘉鑫宏博创新源联优卓汇安康锦腾润诚天正百星明'];
export const TRADE_NAME_SECOND = [...'科通力远和兴实丰海辰启成发业智美晟昌易宇合誉景途'];

export const INDUSTRIES = [
  '科技',
  '信息技术',
  '网络科技',
  '商贸',
  '建筑工程',
  '餐饮管理',
  '物流',
  '生物医药',
  '电子',
  '贸易',
  '环保科技',
  '文化传媒',
  '物业管理',
  '机械设备',
  '农业发展',
  '教育咨询',
  '置业',
  '汽车销售服务',
  '医疗器械',
  '食品',
];

/** 注册资本 in 万元. */
export const REGISTERED_CAPITALS = [3, 10, 30, 50, 100, 200, 300, 500, 1000, 2000, 5000, 10000];
