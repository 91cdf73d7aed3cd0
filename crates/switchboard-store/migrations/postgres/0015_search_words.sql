-- The vocabulary of every stored message (words of 3 to 30 characters): a search word it does
-- not have is a typo, corrected to the closest word it has. Filled as messages are stored.
-- Byte order ("C"), so a range of words that start with one letter is one index range.
CREATE TABLE search_words (word TEXT COLLATE "C" PRIMARY KEY);
INSERT INTO search_words (word)
    SELECT DISTINCT w FROM messages, unnest(tsvector_to_array(to_tsvector('simple', text))) AS w
    WHERE length(w) BETWEEN 3 AND 30 AND w !~ '^[0-9]+$'
    ON CONFLICT DO NOTHING;
