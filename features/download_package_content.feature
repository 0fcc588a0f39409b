@acceptance @steps
Feature: Download Package Content over the CMG
  The Download Package Content step downloads the packages it lists, in order, to the task sequence
  working directory, the client cache or a custom path, and can save each path in a variable.

  Background:
    Given the site runs Configuration Manager version 1910
    And the CMG serves content from Azure storage
    And the in-place upgrade task sequence PS100060 references these packages:
      | package  | name             | type           | size   |
      | PS100061 | Surface drivers  | Driver package | 600 MB |
      | PS100062 | Dell drivers     | Driver package | 400 MB |
    And an internet client CLIENT11

  @behaviour:B-37
  Scenario: Packages are saved to a custom path and their paths to numbered variables
    Given the task sequence has these steps:
      | step             | action                   | package           | duration | destination            | variable |
      | Download drivers | Download Package Content | PS100061,PS100062 | 1 minute | Custom path C:\Drivers | DRIVERS  |
    And the packages are distributed to the CMG
    And the task sequence is deployed as Available with "Download content locally when needed by the running task sequence"
    When the user installs the deployment from Software Center
    Then the task sequence succeeds
    And the task sequence variable DRIVERS01 is "C:\Drivers\PS100061"
    And the task sequence variable DRIVERS02 is "C:\Drivers\PS100062"
    And PS100061 is saved in C:\Drivers
    And PS100062 is saved in C:\Drivers

  @behaviour:B-37
  Scenario: Packages saved to the client cache get ccmcache folders
    Given the task sequence has these steps:
      | step             | action                   | package           | duration | destination                        | variable |
      | Download drivers | Download Package Content | PS100061,PS100062 | 1 minute | Configuration Manager client cache | DRIVERS  |
    And the packages are distributed to the CMG
    And the task sequence is deployed as Available with "Download content locally when needed by the running task sequence"
    When the user installs the deployment from Software Center
    Then the task sequence succeeds
    And the task sequence variable DRIVERS01 is "C:\Windows\ccmcache\1"
    And the task sequence variable DRIVERS02 is "C:\Windows\ccmcache\2"

  @behaviour:B-14 @behaviour:B-38
  Scenario: A package that cannot be found is skipped when the step continues on download errors
    Given the task sequence has these steps:
      | step             | action                   | package           | duration | variable |
      | Download drivers | Download Package Content | PS100061,PS100062 | 1 minute | DRIVERS  |
    And the package PS100062 is distributed to the CMG
    And the task sequence is deployed as Available with "Download content locally when needed by the running task sequence"
    When the user installs the deployment from Software Center
    Then the task sequence succeeds
    And the content location reply for PS100061 has no locations
    And the task sequence variable DRIVERS01 is not set
    And the task sequence variable DRIVERS02 is "C:\_SMSTaskSequence\Packages\PS100062"

  @behaviour:B-14 @behaviour:B-38
  Scenario: Without "continue downloading other packages" a missing package fails the step
    Given the task sequence has these steps:
      | step             | action                   | package           | duration | continue download on error |
      | Download drivers | Download Package Content | PS100061,PS100062 | 1 minute | no                         |
    And the package PS100062 is distributed to the CMG
    And the task sequence is deployed as Available with "Download content locally when needed by the running task sequence"
    When the user installs the deployment from Software Center
    Then the task sequence fails at step "Download drivers" with 0x80040102

  @behaviour:B-53
  Scenario Outline: A task sequence with Download Package Content is not deployed with "<option>"
    Given the task sequence has these steps:
      | step             | action                   | package           | duration |
      | Download drivers | Download Package Content | PS100061,PS100062 | 1 minute |
    When the administrator deploys the task sequence as Available with "<option>"
    Then the site refuses the deployment because "has a Download Package Content step"

    Examples:
      | option                                                                                  |
      | Download all content locally before starting task sequence                              |
      | Access content directly from a distribution point when needed by the running task sequence |
