"""What the browser tests share: a headless Debian Chromium driven through chromedriver."""
from selenium import webdriver
from selenium.webdriver.chrome.service import Service


def chrome():
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1000,800"):
        opts.add_argument(arg)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
