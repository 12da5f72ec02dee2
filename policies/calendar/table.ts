/**
 * govshare's own table of the State Council's yearly holiday arrangements (部分节假日安排的通知).
 * One entry per year, copied from the notice; a test checks each year has the expected number of
 * working days and agrees day by day with the `chinese-days` package. A year published after a
 * release is added by the operator's override file (overrides.ts) until the next release.
 */
import type { HolidayYear } from './schema.js';

export const HOLIDAY_TABLE: readonly HolidayYear[] = [
  {
    year: 2025,
    notice: {
      number: '国办发明电〔2024〕12号',
      title: '国务院办公厅关于2025年部分节假日安排的通知',
      published: '2024-11-12',
      url: 'https://www.gov.cn/zhengce/zhengceku/202411/content_6986383.htm',
    },
    daysOff: [
      { from: '2025-01-01', name: "New Year's Day (元旦)" },
      { from: '2025-01-28', to: '2025-02-04', name: 'Spring Festival (春节)' },
      { from: '2025-04-04', to: '2025-04-06', name: 'Qingming Festival (清明节)' },
      { from: '2025-05-01', to: '2025-05-05', name: 'Labour Day (劳动节)' },
      { from: '2025-05-31', to: '2025-06-02', name: 'Dragon Boat Festival (端午节)' },
      { from: '2025-10-01', to: '2025-10-08', name: 'National Day and Mid-Autumn Festival (国庆节、中秋节)' },
    ],
    makeUpDays: [
      { date: '2025-01-26', name: 'Spring Festival (春节)' },
      { date: '2025-02-08', name: 'Spring Festival (春节)' },
      { date: '2025-04-27', name: 'Labour Day (劳动节)' },
      { date: '2025-09-28', name: 'National Day and Mid-Autumn Festival (国庆节、中秋节)' },
      { date: '2025-10-11', name: 'National Day and Mid-Autumn Festival (国庆节、中秋节)' },
    ],
  },
  {
    year: 2026,
    notice: {
      number: '国办发明电〔2025〕7号',
      title: '国务院办公厅关于2026年部分节假日安排的通知',
      published: '2025-11-04',
      url: 'https://www.gov.cn/zhengce/zhengceku/202511/content_7047091.htm',
    },
    daysOff: [
      { from: '2026-01-01', to: '2026-01-03', name: "New Year's Day (元旦)" },
      { from: '2026-02-15', to: '2026-02-23', name: 'Spring Festival (春节)' },
      { from: '2026-04-04', to: '2026-04-06', name: 'Qingming Festival (清明节)' },
      { from: '2026-05-01', to: '2026-05-05', name: 'Labour Day (劳动节)' },
      { from: '2026-06-19', to: '2026-06-21', name: 'Dragon Boat Festival (端午节)' },
      { from: '2026-09-25', to: '2026-09-27', name: 'Mid-Autumn Festival (中秋节)' },
      { from: '2026-10-01', to: '2026-10-07', name: 'National Day (国庆节)' },
    ],
    makeUpDays: [
      { date: '2026-01-04', name: "New Year's Day (元旦)" },
      { date: '2026-02-14', name: 'Spring Festival (春节)' },
      { date: '2026-02-28', name: 'Spring Festival (春节)' },
      { date: '2026-05-09', name: 'Labour Day (劳动节)' },
      { date: '2026-09-20', name: 'National Day (国庆节)' },
      { date: '2026-10-10', name: 'National Day (国庆节)' },
    ],
  },
];
