@acceptance @fallback @faults
@behaviour:B-45
Feature: Content access tokens and URL windows that expire during a run
  The management point hands out a content access token valid for 24 hours with the content locations, and
  the content URL is valid for 8 hours (B-45). A download retried after those have
  passed is refused by the content service, and the client asks for locations again (B-45).
  These scenarios let up to two model days pass between attempts: on the virtual clock that costs no real time
  at all, and a retry within the window has exactly the 7 model hours to spare that the model says.

  Background:
    Given the CMG serves content from Azure storage
    And the in-place upgrade task sequence PS100240 references these packages:
      | package  | name                     | type               | size   |
      | PS100241 | Windows 11 upgrade media | OS upgrade package | 3.2 GB |
    And the task sequence has these steps:
      | step                     | action                   | package  | duration  |
      | Check Readiness          | Check Readiness          |          | 2 minutes |
      | Upgrade Operating System | Upgrade Operating System | PS100241 | 1 hour    |
    And the packages are distributed to the CMG
    And an internet client CLIENT61
    And the site runs Configuration Manager version 2010
    And the task sequence is deployed as Available with "Download content locally when needed by the running task sequence"

  Scenario: A retry two days later asks for fresh locations and a fresh token first
    Given the task sequence variable SMSTSDownloadRetryDelay is 172800
    And Azure storage throttles the next 1 request for PS100241
    When the user installs the deployment from Software Center
    Then the task sequence succeeds
    And the content locations for PS100241 are requested 2 times
    And the CMG's content service refused the expired token

  Scenario: A retry after the URL's 8-hour window, with the token still valid, asks for fresh locations too
    Given the task sequence variable SMSTSDownloadRetryDelay is 43200
    And Azure storage throttles the next 1 request for PS100241
    When the user installs the deployment from Software Center
    Then the task sequence succeeds
    And the content locations for PS100241 are requested 2 times
    And the CMG's content service refused the expired token

  Scenario: A retry within the URL's window uses the locations it has
    Given the task sequence variable SMSTSDownloadRetryDelay is 3600
    And Azure storage throttles the next 1 request for PS100241
    When the user installs the deployment from Software Center
    Then the task sequence succeeds
    And the content locations for PS100241 are requested 1 times
