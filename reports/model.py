"""The national data model of an annual report (see shared/domain/report-format.md).

Every parsed report is a plain dict with the keys below; this module names them once so the
parser, the simulator, the monitor and the digests agree.  Numbers are ints (money is a float);
a blank or unreadable cell is ``None``, never 0.
"""

from __future__ import annotations

from typing import Any

TEMPLATES = ("2021", "2019-trial", "legacy")

# Table 2: seven columns, always in this order.
TABLE2_COLUMNS = (
    "natural_person",
    "commercial",
    "research",
    "public_interest",
    "legal_services",
    "other_org",
    "total",
)
TABLE2_COLUMN_LABELS = ("自然人", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他", "总计")

# Table 2 rows of the 2021 template: (key, the leaf label as printed in the template).
TABLE2_ROWS: tuple[tuple[str, str], ...] = (
    ("new_received", "一、本年新收政府信息公开申请数量"),
    ("carried_over", "二、上年结转政府信息公开申请数量"),
    ("disclosed", "（一）予以公开"),
    ("partially_disclosed", "（二）部分公开（区分处理的，只计这一情形，不计其他情形）"),
    ("withheld_state_secret", "1.属于国家秘密"),
    ("withheld_prohibited_by_law", "2.其他法律行政法规禁止公开"),
    ("withheld_three_safeties", "3.危及“三安全一稳定”"),
    ("withheld_third_party", "4.保护第三方合法权益"),
    ("withheld_internal_affairs", "5.属于三类内部事务信息"),
    ("withheld_process_info", "6.属于四类过程性信息"),
    ("withheld_enforcement_file", "7.属于行政执法案卷"),
    ("withheld_query_matter", "8.属于行政查询事项"),
    ("unable_not_held", "1.本机关不掌握相关政府信息"),
    ("unable_needs_creation", "2.没有现成信息需要另行制作"),
    ("unable_unclear", "3.补正后申请内容仍不明确"),
    ("rejected_petition", "1.信访举报投诉类申请"),
    ("rejected_duplicate", "2.重复申请"),
    ("rejected_publication", "3.要求提供公开出版物"),
    ("rejected_mass_repeated", "4.无正当理由大量反复申请"),
    ("rejected_confirm_reissue", "5.要求行政机关确认或重新出具已获取信息"),
    ("other_no_correction", "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请"),
    ("other_unpaid_fee", "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请"),
    ("other_other", "3.其他"),
    ("total_handled", "（七）总计"),
    ("carried_forward", "四、结转下年度继续办理"),
)
TABLE2_KEYS: tuple[str, ...] = tuple(k for k, _ in TABLE2_ROWS)

# The group headings that sit above the leaf rows (merged label cells).
TABLE2_GROUPS = {
    "（三）不予公开": TABLE2_KEYS[4:12],
    "（四）无法提供": TABLE2_KEYS[12:15],
    "（五）不予处理": TABLE2_KEYS[15:20],
    "（六）其他处理": TABLE2_KEYS[20:23],
}

# The 2019 trial template has one （六）其他处理 row in place of the three other_* rows.
TABLE2_TRIAL_KEYS: tuple[str, ...] = TABLE2_KEYS[:20] + ("other_processing",) + TABLE2_KEYS[23:]

# Rows 3..23 (（一）..（六）) add up to row 24 (（七）总计).
TABLE2_HANDLED_KEYS_2021 = TABLE2_KEYS[2:23]
TABLE2_HANDLED_KEYS_TRIAL = TABLE2_TRIAL_KEYS[2:21]

TABLE3_GROUPS = ("review", "litigation_direct", "litigation_after_review")
TABLE3_GROUP_LABELS = ("行政复议", "未经复议直接起诉", "复议后起诉")
TABLE3_FIELDS = ("upheld", "corrected", "other", "pending", "total")
TABLE3_FIELD_LABELS = ("结果维持", "结果纠正", "其他结果", "尚未审结", "总计")

# Table 1, 2021 template.
TABLE1_2021_DOC_FIELDS = ("issued", "abolished", "in_force")
TABLE1_2021_DOC_LABELS = ("本年制发件数", "本年废止件数", "现行有效件数")
# Table 1, 2019 trial template.
TABLE1_TRIAL_DOC_FIELDS = ("made", "published", "total")
TABLE1_TRIAL_ITEM_FIELDS = ("prev_items", "change", "decisions")

ISSUE_CODES = (
    "template_not_found",
    "row_missing",
    "cell_blank",
    "cell_unreadable",
    "sum_mismatch",
    "year_mismatch",
)

SECTION_KEYS = ("overview", "problems", "other")
PART_HEADINGS = {
    "overview": "一、总体情况",
    "table1": "二、主动公开政府信息情况",
    "table2": "三、收到和处理政府信息公开申请情况",
    "table3": "四、政府信息公开行政复议、行政诉讼情况",
    "problems": "五、存在的主要问题及改进情况",
    "other": "六、其他需要报告的事项",
}

AGENCY_KINDS = ("government", "department", "township")


def empty_report() -> dict[str, Any]:
    """A report dict with every top-level key present and nothing read yet."""
    return {
        "agency": None,
        "year": None,
        "template": None,
        "kind": None,
        "published_at": None,
        "published_at_source": None,
        "table1": {},
        "table2": {},
        "table3": {},
        "sections": {},
        "issues": [],
    }


def issue(code: str, message: str, where: str = "") -> dict[str, str]:
    """One parser finding, in the shape the data model prescribes."""
    assert code in ISSUE_CODES, code
    return {"code": code, "message": message, "where": where}
