"""Drives the chat widget in a real headless Chromium (Debian's chromium and chromedriver,
through Selenium): open it, chat, lose the connection and come back, reload the page.
Prints one line per milestone for the Rust test that runs it; saves screenshots.

Usage: chat_widget.py PAGE_URL SCREENSHOT_DIR"""
import json
import sys
import time

from common import chrome
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

page, shots = sys.argv[1], sys.argv[2]


def say(*words):
    print(*words, flush=True)


driver = chrome()
wait = WebDriverWait(driver, 30)


def texts(selector):
    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, selector)]


def wait_text(selector, text):
    wait.until(lambda d: any(text in t for t in texts(selector)))


try:
    driver.get(page)
    bubble = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, ".sb-bubble")))
    say("LABEL", bubble.get_attribute("aria-label"))
    driver.save_screenshot(f"{shots}/1-closed.png")
    # Keyboard: the bubble is a button; Enter opens the panel and focuses the input.
    bubble.send_keys(Keys.ENTER)
    box = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, ".sb-input")))
    wait.until(lambda d: d.switch_to.active_element == box)
    say("OPEN", driver.find_element(By.CSS_SELECTOR, ".sb-title").text)
    box.send_keys("Hi, is the blue jacket in stock?", Keys.ENTER)
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".sb-msg.sb-visitor.sb-sent"))
    say("SENT1")
    wait_text(".sb-msg.sb-agent", "Yes, size M is in stock.")
    say("REPLY1")
    driver.save_screenshot(f"{shots}/2-answered.png")

    # The connection drops; a message written meanwhile goes out when it is back.
    driver.execute_script("window.SwitchboardChat.disconnect(); window.SwitchboardChat.send('Can you hold one for me?');")
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".sb-msg.sb-visitor.sb-sent")) == 2)
    say("SENT2")
    wait_text(".sb-msg.sb-agent", "Held until Friday.")
    say("REPLY2")

    # A reload shows the whole conversation once.
    driver.refresh()
    wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, ".sb-bubble"))).click()
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".sb-msg")) >= 4)
    time.sleep(1)
    all_texts = [t.split("\n")[-1] for t in texts(".sb-msg")]
    say("HISTORY", json.dumps(all_texts))
    driver.save_screenshot(f"{shots}/3-after-reload.png")
finally:
    driver.quit()
