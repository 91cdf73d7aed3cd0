"""The chat widget's pre-chat form and typing indicator in a real headless Chromium: the
channel requires a name and an e-mail before the chat starts. Prints milestones.

Usage: chat_prechat.py PAGE_URL SCREENSHOT_DIR"""
import sys

from common import chrome
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

page, shots = sys.argv[1], sys.argv[2]
driver = chrome()
wait = WebDriverWait(driver, 30)
try:
    driver.get(page)
    # The settings (prechat: required) arrive just after the script; wait for them.
    wait.until(lambda d: d.execute_script("return !!window.SwitchboardChat"))
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, ".sb-title").get_attribute("textContent") == "Welcome to the Shop")
    driver.find_element(By.CSS_SELECTOR, ".sb-bubble").click()
    name = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, ".sb-name")))
    assert not driver.find_element(By.CSS_SELECTOR, ".sb-form").is_displayed(), "the composer waits"
    assert not driver.find_element(By.CSS_SELECTOR, ".sb-skip").is_displayed(), "required: no skip"
    # Empty fields do not pass the browser's own check.
    driver.find_element(By.CSS_SELECTOR, ".sb-start").click()
    assert name.is_displayed()
    print("BLOCKED", flush=True)
    name.send_keys("Bo Chen")
    driver.find_element(By.CSS_SELECTOR, ".sb-email").send_keys("bo@example.com")
    driver.save_screenshot(f"{shots}/4-prechat.png")
    driver.find_element(By.CSS_SELECTOR, ".sb-start").click()
    box = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, ".sb-input")))
    box.send_keys("My order 77 is late", Keys.ENTER)
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".sb-msg.sb-visitor.sb-sent"))
    print("SENT", flush=True)
    wait.until(lambda d: "is typing" in d.find_element(By.CSS_SELECTOR, ".sb-typing").text)
    print("TYPING", driver.find_element(By.CSS_SELECTOR, ".sb-typing").text, flush=True)
    driver.save_screenshot(f"{shots}/5-typing.png")
finally:
    driver.quit()
