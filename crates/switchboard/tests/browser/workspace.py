"""The agent workspace in headless Chromium, driven by tests/api/workspace.rs.

Usage: workspace.py BASE_URL SCREENSHOT_DIR PASSWORD
Prints one line per step; the Rust side answers some steps by posting webhooks (it waits for
INBOX before the first message and for EXPERT_BACK before the public one).
"""
import json
import os
import sys
import tempfile
import time
import traceback

from common import chrome
from selenium.common.exceptions import (
    NoSuchElementException,
    StaleElementReferenceException,
    WebDriverException,
)
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

base, shots, password = sys.argv[1], sys.argv[2], sys.argv[3]
driver = chrome()
# A page that is being replaced (a submit, a live refresh) makes elements stale, or (Chromium
# says) "Node with given id does not belong to the document": look again. A real failure still
# ends the wait, with a timeout.
wait = WebDriverWait(
    driver, 40, poll_frequency=0.05,
    ignored_exceptions=(StaleElementReferenceException, NoSuchElementException, WebDriverException),
)


def say(line):
    print(line, flush=True)


def shot(name):
    driver.save_screenshot(f"{shots}/{name}.png")


def login(username):
    driver.delete_all_cookies()
    driver.get(f"{base}/login")
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait.until(lambda d: "/login" not in d.current_url)


def row_with(text):
    for li in driver.find_elements(By.CSS_SELECTOR, "#rows > li"):
        if text in li.text:
            return li
    return None


try:
    # A wrong password is refused on the page.
    driver.get(f"{base}/login")
    shot("01-login")
    driver.find_element(By.ID, "username").send_keys("ada")
    driver.find_element(By.ID, "password").send_keys("not the password")
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    err = wait.until(lambda d: d.find_element(By.ID, "login-error"))
    say(f"LOGIN_REFUSED {err.text}")

    login("ada")
    say(f"HOME {driver.current_url.replace(base, '')}")
    driver.get(f"{base}/inbox?queue=active")
    driver.execute_script("window.__notReloaded = true;")
    say("INBOX")

    # The first message arrives live: no reload (the marker survives).
    started = time.time()
    li = wait.until(lambda d: row_with("Ann Customer"))
    still = driver.execute_script("return window.__notReloaded === true;")
    say(f"LIVE {int((time.time() - started) * 1000)} reloaded={not still}")
    shot("02-inbox")
    pwned = driver.execute_script("return window.__pwned === undefined ? 'no' : 'yes';")
    say(f"ESCAPED pwned={pwned} shown={'<script>' in li.text}")

    # Keyboard: j selects the first row, Enter opens it.
    driver.find_element(By.TAG_NAME, "body").send_keys("j")
    driver.switch_to.active_element.send_keys(Keys.ENTER)
    wait.until(lambda d: "/cases/" in d.current_url)
    say("KEYS opened")
    case_url = driver.current_url
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#suggestions h3") or True)
    shot("03-case")

    # Reply, and see it delivered (the page follows the live stream).
    driver.find_element(By.TAG_NAME, "body").send_keys("r")
    box = driver.switch_to.active_element
    box.send_keys("The game starts at 2 pm. See you there!")
    driver.find_element(By.CSS_SELECTOR, "#reply-form button[type=submit]").click()
    wait.until(lambda d: any("delivered" in b.text for b in d.find_elements(By.CSS_SELECTOR, ".msg.outbound .delivery")))
    say("DELIVERED")
    shot("04-replied")

    # Ask an outside expert; the link is shown (no mail relay in the test).
    driver.find_element(By.TAG_NAME, "body").send_keys("t")
    driver.find_element(By.ID, "expert-email").send_keys("dean@college.example")
    driver.find_element(By.ID, "expert-name").send_keys("Dean Expert")
    driver.find_element(By.ID, "expert-question").send_keys("Can visitors bring umbrellas")
    # A colleague's note arrives while the question is being typed: the live refresh shows
    # it and keeps the open form, what was typed and where the caret is.
    case_id = case_url.rstrip("/").split("/")[-1]
    driver.execute_async_script(
        """const done = arguments[arguments.length - 1];
        fetch(`/api/v1/cases/${arguments[0]}/notes`, {method: "POST", credentials: "same-origin",
          headers: {"Content-Type": "application/json",
                    "X-CSRF-Token": document.querySelector('meta[name="csrf-token"]').content},
          body: JSON.stringify({text: "Umbrella policy is with the dean."})}).then((r) => done(r.status));""",
        case_id)
    wait.until(lambda d: "Umbrella policy is with the dean." in d.find_element(By.ID, "timeline").text)
    kept = driver.find_element(By.ID, "expert-email").get_attribute("value")
    still_open = driver.find_element(By.ID, "transfer").get_attribute("open") is not None
    driver.switch_to.active_element.send_keys("?")
    asked = driver.find_element(By.ID, "expert-question").get_attribute("value")
    say(f"KEPT {kept} open={still_open} question={asked}")
    # The transfer form offers the people of the team the case would be in.
    offered = lambda: driver.execute_script(
        """return [...document.querySelectorAll('#transfer-person option')]
             .filter((o) => o.value && !o.hidden).map((o) => o.text).join(',');""")
    here = offered()
    team = Select(driver.find_element(By.ID, "transfer-team"))
    team.select_by_visible_text("Marketing & PR")
    pr = offered()
    team.select_by_visible_text("Legal (no one here answers cases)")
    legal = offered()
    team.select_by_index(0)
    say(f"TRANSFER_PEOPLE here={here} pr={pr} legal={legal or '-'} back={offered()}")
    # A colleague mentions Ada: the navigation counts it at once, without a reload.
    unread = lambda: (driver.find_elements(By.CSS_SELECTOR, "#nav-notifications .count") or [None])[0]
    before = int(unread().text) if unread() else 0
    driver.execute_script("window.__same_page = 1;")
    say("AWAIT_MENTION")
    wait.until(lambda d: unread() is not None and int(unread().text) == before + 1)
    same = driver.execute_script("return window.__same_page === 1;")
    say(f"MENTIONED {before}->{unread().text} same_page={same} {unread().get_attribute('aria-label')}")
    driver.find_element(By.CSS_SELECTOR, "#expert-form button[type=submit]").click()
    # Without a mail relay the page says so and gives the link, as a link; the form is cleared.
    anchor = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#expert-result a") or None)[0]
    link = anchor.get_attribute("href")
    said = driver.find_element(By.ID, "expert-result").text
    cleared = driver.find_element(By.ID, "expert-question").get_attribute("value") == ""
    say(f"EXPERT_LINK {'send them this link yourself' in said and '/expert/' in link and cleared}")
    driver.get(link)
    shot("05-expert-page")
    driver.find_element(By.ID, "text").send_keys("Small umbrellas are fine; no golf umbrellas.")
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait.until(lambda d: "Thank" in d.find_element(By.TAG_NAME, "body").text)
    driver.get(case_url)
    wait.until(lambda d: "Small umbrellas are fine" in d.find_element(By.ID, "timeline").text)
    status = driver.find_element(By.CSS_SELECTOR, ".case-head .badges").text
    say(f"EXPERT_BACK {'status open' in status}")
    shot("06-expert-answered")

    # The agent corrects what Switchboard understood, on the case page: each correction is a
    # labelled example for the learning loop.
    Select(driver.find_element(By.ID, "correct-purpose")).select_by_value("sales")
    driver.find_element(By.CSS_SELECTOR, "#purpose-form button[type=submit]").click()
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#understanding dd strong").text == "Sales")
    driver.find_element(By.ID, "correct-intent").send_keys("game_times")
    driver.find_element(By.CSS_SELECTOR, "#intent-form button[type=submit]").click()
    wait.until(lambda d: "game_times" in d.find_element(By.ID, "understanding").text)
    Select(driver.find_element(By.ID, "correct-sentiment")).select_by_value("positive")
    driver.find_element(By.CSS_SELECTOR, "#sentiment-form button[type=submit]").click()
    wait.until(lambda d: "positive (set by a person)" in d.find_element(By.ID, "understanding").text)
    understood = driver.find_element(By.ID, "understanding").text
    say(f"CORRECTED {'game_times (set by a person)' in understood and 'positive (set by a person)' in understood}")
    shot("06b-corrected")

    # A public mention goes to PR, whose public replies Legal approves.
    driver.get(f"{base}/inbox?queue=active")
    li = wait.until(lambda d: row_with("Bo Public"))
    li.find_element(By.TAG_NAME, "a").click()
    wait.until(lambda d: "/cases/" in d.current_url)
    public_case = driver.current_url
    driver.find_element(By.ID, "reply-text").send_keys("Thank you, Bo!")
    driver.find_element(By.CSS_SELECTOR, "#reply-form button[type=submit]").click()
    wait.until(lambda d: any("pending approval" in b.text for b in d.find_elements(By.CSS_SELECTOR, ".msg.outbound .delivery")))
    say("HELD")

    login("rita")
    say(f"HOME {driver.current_url.replace(base, '')}")
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#approvals .approval"))
    shot("07-approvals")
    # The reviewer sees what the reply answers, where, and that it is public.
    card = driver.find_element(By.CSS_SELECTOR, "#approvals .approval").text
    say(f"APPROVAL_CONTEXT {'Bo Public wrote: @lakeside great game last night!' in card and 'public: everyone sees it' in card}")
    # An emptied reply is not "approved as written": the form will not send it.
    box = driver.find_element(By.CSS_SELECTOR, "#approvals .approval textarea")
    box.clear()
    driver.find_element(By.CSS_SELECTOR, "#approvals .approval button.primary").click()
    time.sleep(0.5)
    kept = bool(driver.find_elements(By.CSS_SELECTOR, "#approvals .approval")) and driver.execute_script(
        "return document.querySelector('#approvals .approval textarea').matches(':invalid')"
    )
    say(f"EMPTIED_NOT_SENT {kept}")
    driver.refresh()
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#approvals .approval"))
    driver.find_element(By.CSS_SELECTOR, "#approvals .approval button.primary").click()
    wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, "#approvals .approval"))
    say("APPROVED")
    # A reviewer may not see the supervisor's dashboard.
    driver.get(f"{base}/supervisor")
    say(f"SUPERVISOR_AS_REVIEWER {'Not allowed' in driver.find_element(By.TAG_NAME, 'h1').text}")

    login("sue")
    say(f"HOME {driver.current_url.replace(base, '')}")
    # The last days' charts are drawn after the page (the script loads them).
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#dash-days figure.chart")) >= 5)
    active = driver.find_element(By.ID, "tile-active").text
    unassigned = driver.find_element(By.ID, "tile-unassigned").text
    charts = len(driver.find_elements(By.CSS_SELECTOR, "figure.chart svg"))
    lines = len(driver.find_elements(By.CSS_SELECTOR, "figure.chart svg polyline"))
    # The KPI charts' numbers are in a table for screen readers: today's is the last row.
    opened = driver.find_element(
        By.XPATH, "//figure[figcaption='Cases opened']//tbody/tr[last()]/td[1]"
    ).get_attribute("textContent")
    days = len(driver.find_elements(By.XPATH, "//figure[figcaption='Cases opened']//tbody/tr"))
    # A line is drawn, not filled in (the series colour fills only lone points).
    fill = driver.execute_script(
        "return getComputedStyle(document.querySelector('figure.chart polyline')).fill"
    )
    say(f"DASH active={active} unassigned={unassigned} charts={charts} lines={lines >= 4} fill={fill} days={days} opened_today={opened}")
    shot("08-supervisor")


    login("admin")
    driver.get(f"{base}/admin")
    # A channel's test message, in the admin's words, is filed, and the page links to its case
    # (where its language shows by name).
    driver.find_element(By.CSS_SELECTOR, "form.test-message input[name=text]").send_keys(
        "¿A qué hora abre la biblioteca los sábados?")
    driver.find_element(By.CSS_SELECTOR, "form.test-message button[type=submit]").click()
    link = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "form.test-message .form-done a"))
    filed = driver.find_element(By.CSS_SELECTOR, "form.test-message .form-done").text
    shot("09-admin")
    link.click()
    wait.until(lambda d: "/cases/" in d.current_url)
    test_case = driver.find_element(By.CSS_SELECTOR, ".timeline").text
    spanish = "Spanish" in driver.find_element(By.TAG_NAME, "main").text
    say(f"TEST_MESSAGE {filed.startswith('Filed')} {'abre la biblioteca' in test_case} {spanish}")
    # Connecting a channel says what to give the provider, and shows the secret once.
    driver.get(f"{base}/admin")
    driver.find_element(By.CSS_SELECTOR, "#connect summary").click()
    Select(driver.find_element(By.ID, "ch-kind")).select_by_value("webhook")
    driver.find_element(By.ID, "ch-name").send_keys("Partner two")
    driver.find_element(By.ID, "ch-outbound").send_keys("https://partner.example/replies")
    driver.find_element(By.CSS_SELECTOR, "#connect button[type=submit]").click()
    connected = wait.until(lambda d: d.find_element(By.ID, "connect-result").text.strip() or None)
    say(f"CONNECTED {'Webhook URL to give the provider: http' in connected and 'Signing secret (shown only now' in connected}")
    driver.get(f"{base}/admin/playbook")
    driver.find_element(By.CSS_SELECTOR, "#playbook-form button[data-api$='simulate']").click()
    sim = wait.until(lambda d: d.find_element(By.ID, "playbook-result").text.strip() or None)
    tables = driver.find_elements(By.CSS_SELECTOR, "#playbook-result table")
    teams = [td.text for td in tables[1].find_elements(By.CSS_SELECTOR, "tbody td:first-child")]
    linked = "/cases/" in tables[3].find_element(By.CSS_SELECTOR, "tbody a").get_attribute("href")
    # Purposes by name ("Tier 1"), not by id ("tier1").
    purposes = [td.text for td in tables[2].find_elements(By.CSS_SELECTOR, "tbody td:first-child")]
    named = bool(purposes) and all("_" not in p and p[:1].isupper() for p in purposes if p != "none")
    say(f"SIMULATED {sim.splitlines()[0]} tables={len(tables)} teams={','.join(teams)} linked={linked} named={named}")
    shot("10-playbook-simulated")
    driver.find_element(By.CSS_SELECTOR, "#playbook-form button[type=submit]").click()
    valid = wait.until(lambda d: d.find_element(By.ID, "playbook-result").text.strip() or None)
    say(f"CHECKED {valid}")
    src = driver.find_element(By.ID, "source")
    src.send_keys(Keys.CONTROL, "a")
    src.send_keys("[[rule]]\nname = 1\n")
    driver.find_element(By.CSS_SELECTOR, "#playbook-form button[type=submit]").click()
    err = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#playbook-form .form-error").text.strip() or None)
    # The problem is a link to its place, and the caret is put there.
    caret = driver.find_element(By.ID, "source-caret").text
    say(f"CHECK_REFUSED {' '.join(err.split())} | {caret}")
    shot("10-playbook")
    # Edits not yet published: leaving the page would ask first (the walk leaves it anyway).
    dirty = driver.execute_script(
        "const f = document.getElementById('playbook-form'); const d = f.dataset.dirty === '1'; delete f.dataset.dirty; return d;"
    )
    say(f"UNSAVED_MARKED {dirty}")

    # The knowledge base, written in the browser: an article made elsewhere (with intents
    # and an end date the page does not show) is edited, a new one added, then archived.
    made = driver.execute_async_script(
        """const done = arguments[arguments.length - 1];
        fetch("/api/v1/kb/articles", {method: "POST", credentials: "same-origin",
          headers: {"Content-Type": "application/json",
                    "X-CSRF-Token": document.querySelector('meta[name="csrf-token"]').content},
          body: JSON.stringify({title: "Umbrellas", body: "Small umbrellas only.",
            intents: ["game_times"], valid_until: "2099-01-01T00:00:00Z",
            questions: ["Can I bring an umbrella?"]})}).then((r) => done(r.status));""")
    driver.get(f"{base}/knowledge")
    item = driver.find_element(By.XPATH, "//ul[contains(@class,'kb')]/li[.//strong[text()='Umbrellas']]")
    item.find_element(By.TAG_NAME, "summary").click()
    item.find_element(By.CSS_SELECTOR, "details.edit > summary").click()
    body = item.find_element(By.CSS_SELECTOR, "textarea[name=body]")
    body.clear()
    body.send_keys("Small umbrellas are fine; no golf umbrellas.")
    item.find_element(By.CSS_SELECTOR, "textarea[name=questions]").send_keys("\nMay I take a brolly in?")
    shot("10-knowledge-edit")
    item.find_element(By.CSS_SELECTOR, "form.kb-form button[type=submit]").click()
    wait.until(lambda d: "no golf umbrellas" in d.find_element(By.TAG_NAME, "main").get_attribute("textContent"))
    edited = driver.find_element(By.XPATH, "//ul[contains(@class,'kb')]/li[.//strong[text()='Umbrellas']]//summary").text
    say(f"KB_EDITED made={made} {edited.split(',')[0]}")
    # A question Tier 1 got and no article answers (the admin's test message): its button
    # opens the new-article form with the question as the title.
    driver.find_element(By.CSS_SELECTOR, "#gaps [data-write-article]").click()
    written = driver.find_element(By.ID, "new-article-title").get_attribute("value")
    opened = driver.find_element(By.ID, "new-article-box").get_attribute("open") is not None
    say(f"WRITE_ANSWER open={opened} {written}")
    driver.find_element(By.ID, "new-article-title").clear()
    driver.find_element(By.ID, "new-article-title").send_keys("Parking")
    driver.find_element(By.ID, "new-article-body").send_keys("Parking is free after 6 pm.")
    Select(driver.find_element(By.ID, "new-article-public")).select_by_value("false")
    # The language is chosen by name from the languages detection tells apart.
    Select(driver.find_element(By.ID, "new-article-language")).select_by_visible_text("Spanish (es)")
    driver.find_element(By.CSS_SELECTOR, "#new-article button[type=submit]").click()
    parking = wait.until(lambda d: d.find_elements(
        By.XPATH, "//ul[contains(@class,'kb')]/li[.//strong[text()='Parking']]") or None)[0]
    say(f"KB_ADDED {parking.find_element(By.TAG_NAME, 'summary').text.split(',')[0]}")
    language = driver.execute_async_script(
        """const done = arguments[arguments.length - 1];
        fetch("/api/v1/kb/articles", {credentials: "same-origin"}).then((r) => r.json())
          .then((j) => done((j.items.find((a) => a.title === "Parking") || {}).language || "none"));""")
    say(f"KB_LANGUAGE {language}")
    shot("10-knowledge")
    parking.find_element(By.TAG_NAME, "summary").click()
    parking.find_element(By.CSS_SELECTOR, "form[data-method=DELETE] button").click()
    driver.switch_to.alert.accept()
    wait.until(lambda d: "Parking" not in d.find_element(By.TAG_NAME, "main").text)
    say("KB_ARCHIVED")

    # A phone-sized window.
    login("ada")
    driver.set_window_size(390, 844)
    driver.get(public_case)
    shot("11-case-phone")
    driver.get(f"{base}/inbox?queue=active")
    shot("12-inbox-phone")

    def wider(paths):
        """The pages among `paths` wider than the window: they would scroll sideways."""
        out = []
        for p in paths:
            driver.get(f"{base}{p}")
            if driver.execute_script(
                "const e = document.documentElement; return e.scrollWidth > e.clientWidth;"
            ):
                out.append(p)
        return out

    too_wide = wider(["/inbox?queue=active", public_case.replace(base, "")])
    login("sue")
    too_wide += wider(["/supervisor", "/reports?group_by=purpose&bucket=day"])
    login("admin")
    too_wide += wider(["/admin", "/admin/playbook"])
    say(f"PHONE wider={too_wide}")

    # Files sent from the page (as admin, at the usual width). The knowledge base: a CSV with
    # a wrong row is refused with the row named, and adds nothing; the corrected file adds an
    # article and a canned response.
    driver.set_window_size(1000, 800)
    folder = tempfile.mkdtemp()

    def write(name, text):
        path = os.path.join(folder, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def send_file(form_id, path):
        form = driver.find_element(By.ID, form_id)
        form.find_element(By.CSS_SELECTOR, "input[type=file]").send_keys(path)
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        return wait.until(lambda d: (
            d.find_element(By.CSS_SELECTOR, f"#{form_id} .form-error").text
            or d.find_element(By.CSS_SELECTOR, f"#{form_id} .form-done").text.startswith(("Imported", "Trained", "Nothing new"))
            and d.find_element(By.CSS_SELECTOR, f"#{form_id} .form-done").text) or None)

    driver.get(f"{base}/knowledge")
    bad = send_file("kb-import-form", write("bad.csv", "type,title,body\narticle,Lockers,Lockers cost 2 euros.\narticle,,No title\n"))
    driver.execute_script("document.getElementById('kb-import').scrollIntoView()")
    shot("13-knowledge-import-refused")
    say(f"KB_IMPORT_REFUSED {' '.join(bad.split())}")
    good = write("kb.csv", "type,title,body,questions,name,text\n"
                 "article,Lockers,Lockers by the main gate cost 2 euros.,Where can I leave my bag?,,\n"
                 "canned,,,,Lockers,Our lockers are by the main gate.\n")
    said = send_file("kb-import-form", good)
    driver.find_element(By.LINK_TEXT, "Show them").click()
    listed = wait.until(lambda d: d.find_elements(
        By.XPATH, "//ul[contains(@class,'kb')]/li[.//strong[text()='Lockers']]") or None)
    shot("13-knowledge-imported")
    say(f"KB_IMPORTED {said} listed={len(listed)}")
    # The same file again adds nothing, and says so.
    again = send_file("kb-import-form", good)
    say(f"KB_IMPORTED_AGAIN {again}")

    # A model trained from a file on the Models page: a label with one example is refused;
    # with two or more each, the new version is in force.
    driver.get(f"{base}/admin/models")
    before = driver.find_element(By.CSS_SELECTOR, "#models-intent .in-force").text
    rows = [("where do I park", "parking"), ("is there parking near the stadium", "parking"),
            ("how much is parking", "parking"), ("can I park my car there", "parking"),
            ("when do the gates open", "game_times"), ("what time does the game start", "game_times"),
            ("when does the match begin", "game_times"), ("what time is kick off", "game_times"),
            ("I lost my wallet", "lost_items"), ("did anyone find a scarf", "lost_items"),
            ("I left my jacket at my seat", "lost_items"), ("lost and found please", "lost_items")]
    csv_text = "message,intent\n" + "".join(f"{t},{label}\n" for t, label in rows)
    form = driver.find_element(By.ID, "train-intent-form")
    for name, value in (("text_column", "message"), ("label_column", "intent")):
        field = form.find_element(By.NAME, name)
        field.clear()
        field.send_keys(value)
    lonely = send_file("train-intent-form", write("one.csv", csv_text + "where is my seat,seats\n"))
    driver.execute_script("document.getElementById('train-intent-form').scrollIntoView()")
    shot("14-models-train-refused")
    say(f"TRAIN_REFUSED {' '.join(lonely.split())}")
    for name, value in (("text_column", "message"), ("label_column", "intent")):
        field = form.find_element(By.NAME, name)
        field.clear()
        field.send_keys(value)
    # A label column the file lacks marks that field.
    form.find_element(By.NAME, "label_column").clear()
    form.find_element(By.NAME, "label_column").send_keys("category")
    send_file("train-intent-form", write("intents.csv", csv_text))
    marked = form.find_element(By.NAME, "label_column").get_attribute("aria-invalid")
    say(f"TRAIN_COLUMN marked={marked} focused={driver.switch_to.active_element.get_attribute('name')}")
    form.find_element(By.NAME, "label_column").clear()
    form.find_element(By.NAME, "label_column").send_keys("intent")
    # JSON Lines in a file named .txt: its first line says what it is.
    jsonl = "".join(json.dumps({"message": t, "intent": label}) + "\n" for t, label in rows)
    trained = send_file("train-intent-form", write("intents.txt", jsonl))
    driver.execute_script("document.getElementById('train-intent-form').scrollIntoView()")
    shot("14-models-train-done")
    driver.find_element(By.LINK_TEXT, "Show it in the list").click()
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#models-intent .in-force").text != before)
    shot("14-models-trained")
    say(f"TRAINED {trained} | {before} -> {driver.find_element(By.CSS_SELECTOR, '#models-intent .in-force').text}")
    # Tab-separated, in a file named .txt, the format left to the page: its first line says.
    form = driver.find_element(By.ID, "train-intent-form")
    for name, value in (("text_column", "message"), ("label_column", "intent")):
        field = form.find_element(By.NAME, name)
        field.clear()
        field.send_keys(value)
    tsv = "message\tintent\n" + "".join(
        f"{t}\t{label}\n" for t, label in rows + [("parking, for a van", "parking")])
    say(f"TRAINED_TSV {send_file('train-intent-form', write('intents-tab.txt', tsv))}")
    say("DONE")
except Exception:
    # The failure, where the Rust side shows it, and what the page looked like.
    for line in traceback.format_exc().splitlines():
        say(f"ERROR {line}")
    shot("error")
    raise
finally:
    driver.quit()
