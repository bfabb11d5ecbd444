"""Screenshots for issue 17: the contact page on a phone (list, "2 of n", summary) and the follow-up card."""
import re
import sys

from playwright.sync_api import sync_playwright

BASE, CONTACT_PATH = sys.argv[1], sys.argv[2]
OUT = "/tmp/proof"
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}

with sync_playwright() as p:
    browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
    phone = browser.new_context(**PHONE)
    page = phone.new_page()
    page.goto(BASE + CONTACT_PATH)
    page.screenshot(path=f"{OUT}/contact-list.png", full_page=True)
    print("list:", re.findall(r"\d+ of \d+ done", page.content()))
    page.locator("a", has_text="Give feedback on").first.click()
    shot = 0
    while True:
        text = page.content()
        where = re.search(r"candidate (\d+) of (\d+)", text)
        print("form:", where.group(0) if where else None)
        if shot == 0 or (where and where.group(1) == "2"):
            page.screenshot(path=f"{OUT}/contact-form-{where.group(1) if where else 'x'}-of-n.png")
        shot += 1
        page.locator("input[name=reasons]").first.check()
        for name in ("technical_skills", "relevant_experience", "communication_skills", "problem_solving"):
            group = page.locator(f"input[name={name}]")
            if group.count():
                group.nth(1).check()
        page.locator("input[name=reconsider]").first.check()
        page.get_by_role("button", name=re.compile("Send|Submit", re.I)).first.click()
        page.wait_for_load_state()
        nxt = page.locator("a", has_text="Next:")
        if nxt.count():
            page.screenshot(path=f"{OUT}/contact-thanks-next.png")
            nxt.first.click()
            continue
        page.screenshot(path=f"{OUT}/contact-thanks-last.png")
        page.locator("a", has_text="See the summary").first.click()
        page.wait_for_load_state()
        page.screenshot(path=f"{OUT}/contact-summary.png", full_page=True)
        print("summary:", re.findall(r"All \d+ done", page.content()))
        break
    desktop = browser.new_context(viewport={"width": 1280, "height": 900})
    page = desktop.new_page()
    page.goto(BASE + "/login")
    page.fill("input[name=email]", "admin@demo.example")
    page.fill("input[name=password]", "demo-password")
    page.locator("button[type=submit], input[type=submit]").first.click()
    page.wait_for_load_state()
    page.goto(BASE + "/recruiter/")
    acme = page.locator("a", has_text="Acme Robotics").first.get_attribute("href")
    page.screenshot(path=f"{OUT}/recruiter-overdue.png", full_page=True)
    page.goto(BASE + acme)
    page.locator("#follow-up").screenshot(path=f"{OUT}/follow-up-card.png")
    print("card:", page.locator("#follow-up .big").all_inner_texts())
    browser.close()
