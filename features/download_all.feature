@acceptance @download_all
Feature: All content downloaded before the task sequence starts
  With "Download all content locally before starting task sequence" the client downloads every
  referenced package over the internet first; this works over a CMG or cloud DP since version 1802.

  Background:
    Given the CMG serves content from Azure storage
    And the in-place upgrade task sequence PS100020 references these packages:
      | package  | name                     | type               | size   |
      | PS100021 | Windows 11 upgrade media | OS upgrade package | 3.2 GB |
      | PS100022 | Post-upgrade scripts     | Package            | 20 MB  |
    And the task sequence has these steps:
      | step                     | action                   | package  | duration   |
      | Check Readiness          | Check Readiness          |          | 2 minutes  |
      | Upgrade Operating System | Upgrade Operating System | PS100021 | 40 minutes |
      | Run post-upgrade scripts | Run Command Line         | PS100022 | 1 minute   |
    And the packages are distributed to the CMG
    And an internet client CLIENT02

  @behaviour:B-02 @behaviour:B-25
  Scenario Outline: Every package is downloaded before the first step starts
    Given the site runs Configuration Manager version <version>
    And the task sequence is deployed as Available with "Download all content locally before starting task sequence"
    When the user installs the deployment from Software Center
    Then the task sequence succeeds
    And every package is downloaded from the CMG before the first step starts

    Examples:
      | version |
      | 1806    |
      | 1906    |
      | 2107    |
