"""The chat widget when the team is away, in a real headless Chromium: it says when the team
is back, sends a picture through the attach button, and takes an e-mail address to answer
to. Prints milestones.

Usage: chat_away.py PAGE_URL SCREENSHOT_DIR FILE_TO_ATTACH"""
import sys

from common import chrome
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

page, shots, picture = sys.argv[1], sys.argv[2], sys.argv[3]
driver = chrome()
wait = WebDriverWait(driver, 30)
try:
    driver.get(page)
    wait.until(lambda d: d.execute_script("return !!window.SwitchboardChat"))
    # The settings arrive just after the script.
    wait.until(lambda d: d.execute_script(
        "return document.querySelector('.sb-chat') && getComputedStyle(document.querySelector('.sb-chat')).getPropertyValue('--sb-color').trim() === '#8a3ffc'"))
    driver.find_element(By.CSS_SELECTOR, ".sb-bubble").click()
    away = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, ".sb-away")))
    print("AWAY", away.find_element(By.CSS_SELECTOR, ".sb-away-text").text, flush=True)
    assert away.get_attribute("role") == "status"
    # Every visible control has a name a screen reader can say, and none is out of the tab
    # order except the hidden file input behind the attach button.
    unnamed = driver.execute_script("""
        return Array.from(document.querySelectorAll('.sb-chat button, .sb-chat input, .sb-chat textarea'))
          .filter(e => e.offsetParent !== null && !e.classList.contains('sb-file'))
          .filter(e => !(e.getAttribute('aria-label') || e.textContent.trim() || e.getAttribute('placeholder')))
          .map(e => e.outerHTML);""")
    assert unnamed == [], unnamed
    skipped = driver.execute_script("""
        return Array.from(document.querySelectorAll('.sb-chat button, .sb-chat input, .sb-chat textarea'))
          .filter(e => e.offsetParent !== null && e.tabIndex < 0 && !e.classList.contains('sb-file'))
          .map(e => e.outerHTML);""")
    assert skipped == [], skipped
    # The attach button is a labelled, focusable button.
    attach = driver.find_element(By.CSS_SELECTOR, ".sb-attach")
    assert attach.get_attribute("aria-label") == "Attach a file"
    driver.find_element(By.CSS_SELECTOR, ".sb-input").send_keys("Here is my receipt")
    driver.find_element(By.CSS_SELECTOR, ".sb-file").send_keys(picture)
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".sb-msg.sb-visitor.sb-sent .sb-file-name"))
    print("FILE", driver.find_element(By.CSS_SELECTOR, ".sb-msg.sb-visitor .sb-file-name").text, flush=True)
    email = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, ".sb-followup-email")))
    email.send_keys("ann@example.com")
    driver.save_screenshot(f"{shots}/6-away.png")
    driver.find_element(By.CSS_SELECTOR, ".sb-followup-send").click()
    wait.until(lambda d: "ann@example.com" in d.find_element(By.CSS_SELECTOR, ".sb-away-text").text)
    assert not driver.find_element(By.CSS_SELECTOR, ".sb-followup").is_displayed()
    print("FOLLOWUP", driver.find_element(By.CSS_SELECTOR, ".sb-away-text").text, flush=True)
    driver.save_screenshot(f"{shots}/7-followup.png")
finally:
    driver.quit()
